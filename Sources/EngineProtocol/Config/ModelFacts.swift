/// What a front needs to know about a network without building it: its name and the multiple
/// its input height and width must be (the product of its strides). The protocol module does not
/// link Models, so it holds these facts as data; Models' `ModelRegistry` owns them, and
/// `ModelFactsTests` (Training's tests, which see both) fails when a model is added to the
/// registry without a line here or the two disagree (D-201).
public struct ModelFacts: Sendable, Equatable {
    public var name: String
    public var sizeMultiple: Int
    /// Whether `backbone_weights` applies (the registry's `ModelSpec.backbone` is set).
    public var hasBackbone: Bool

    public init(name: String, sizeMultiple: Int, hasBackbone: Bool = false) {
        self.name = name
        self.sizeMultiple = sizeMultiple
        self.hasBackbone = hasBackbone
    }

    /// The networks the engine can build, in the registry's order.
    public static let all: [ModelFacts] = [
        ModelFacts(name: "xunet", sizeMultiple: 16),
        ModelFacts(name: "unet", sizeMultiple: 64),
        ModelFacts(name: "fcn-resnet18", sizeMultiple: 32, hasBackbone: true),
        ModelFacts(name: "fcn-resnet50", sizeMultiple: 1, hasBackbone: true),
        ModelFacts(name: "fcn-resnet101", sizeMultiple: 1, hasBackbone: true),
        ModelFacts(name: "deeplabv3-resnet50", sizeMultiple: 1, hasBackbone: true),
        ModelFacts(name: "deeplabv3-resnet101", sizeMultiple: 1, hasBackbone: true),
        ModelFacts(name: "lraspp-mobilenet-v3-large", sizeMultiple: 1, hasBackbone: true),
    ]

    public static func named(_ name: String) -> ModelFacts? { all.first { $0.name == name } }

    /// Why `size` does not suit this network (with the nearest size that does), or nil: the same
    /// sentence as `ModelSpec.validate`'s reason.
    public func sizeProblem(_ size: PixelSize) -> String? {
        guard size.height % sizeMultiple != 0 || size.width % sizeMultiple != 0 else { return nil }
        // The nearest multiple, from a side clamped first so that no size (a fuzzed
        // 9223372036854775807) overflows the suggestion.
        func nearest(_ side: Int) -> Int {
            let clamped = min(max(side, 0), 1 << 30)
            return max(sizeMultiple, (clamped + sizeMultiple / 2) / sizeMultiple * sizeMultiple)
        }
        let h = nearest(size.height), w = nearest(size.width)
        return "\(name) needs height and width divisible by \(sizeMultiple) (try \(h)x\(w))"
    }
}
