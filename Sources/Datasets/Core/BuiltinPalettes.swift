/// The class palettes Segscope has built in besides VOC's (D-250): ADE20K's 150 classes with
/// MMSegmentation's palette (`mmseg/datasets/ade.py`, `ADE20KDataset.METAINFO`) and Cityscapes'
/// 19 train ids with the official colours (cityscapesScripts `labels.py`, the same in MMSeg's
/// `CityscapesDataset`). Values copied as published; `ClassPaletteTests` checks a few by hand.
extension Palette {
    /// ADE20K's 150 classes after `reduce_zero_label` (MMSeg's names; "bed " without its trailing space).
    public static let ade20kClassNames = [
        "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
        "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
        "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
        "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
        "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand",
        "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge",
        "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove",
        "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus",
        "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
        "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
        "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything",
        "swimming pool", "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven",
        "ball", "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
        "screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier",
        "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
    ]

    /// MMSegmentation's ADE20K palette, one colour per class of `ade20kClassNames`.
    public static let ade20k: [RGB] = [
        RGB(120, 120, 120), RGB(180, 120, 120), RGB(6, 230, 230), RGB(80, 50, 50), RGB(4, 200, 3), RGB(120, 120, 80),
        RGB(140, 140, 140), RGB(204, 5, 255), RGB(230, 230, 230), RGB(4, 250, 7), RGB(224, 5, 255), RGB(235, 255, 7),
        RGB(150, 5, 61), RGB(120, 120, 70), RGB(8, 255, 51), RGB(255, 6, 82), RGB(143, 255, 140), RGB(204, 255, 4),
        RGB(255, 51, 7), RGB(204, 70, 3), RGB(0, 102, 200), RGB(61, 230, 250), RGB(255, 6, 51), RGB(11, 102, 255),
        RGB(255, 7, 71), RGB(255, 9, 224), RGB(9, 7, 230), RGB(220, 220, 220), RGB(255, 9, 92), RGB(112, 9, 255),
        RGB(8, 255, 214), RGB(7, 255, 224), RGB(255, 184, 6), RGB(10, 255, 71), RGB(255, 41, 10), RGB(7, 255, 255),
        RGB(224, 255, 8), RGB(102, 8, 255), RGB(255, 61, 6), RGB(255, 194, 7), RGB(255, 122, 8), RGB(0, 255, 20),
        RGB(255, 8, 41), RGB(255, 5, 153), RGB(6, 51, 255), RGB(235, 12, 255), RGB(160, 150, 20), RGB(0, 163, 255),
        RGB(140, 140, 140), RGB(250, 10, 15), RGB(20, 255, 0), RGB(31, 255, 0), RGB(255, 31, 0), RGB(255, 224, 0),
        RGB(153, 255, 0), RGB(0, 0, 255), RGB(255, 71, 0), RGB(0, 235, 255), RGB(0, 173, 255), RGB(31, 0, 255),
        RGB(11, 200, 200), RGB(255, 82, 0), RGB(0, 255, 245), RGB(0, 61, 255), RGB(0, 255, 112), RGB(0, 255, 133),
        RGB(255, 0, 0), RGB(255, 163, 0), RGB(255, 102, 0), RGB(194, 255, 0), RGB(0, 143, 255), RGB(51, 255, 0),
        RGB(0, 82, 255), RGB(0, 255, 41), RGB(0, 255, 173), RGB(10, 0, 255), RGB(173, 255, 0), RGB(0, 255, 153),
        RGB(255, 92, 0), RGB(255, 0, 255), RGB(255, 0, 245), RGB(255, 0, 102), RGB(255, 173, 0), RGB(255, 0, 20),
        RGB(255, 184, 184), RGB(0, 31, 255), RGB(0, 255, 61), RGB(0, 71, 255), RGB(255, 0, 204), RGB(0, 255, 194),
        RGB(0, 255, 82), RGB(0, 10, 255), RGB(0, 112, 255), RGB(51, 0, 255), RGB(0, 194, 255), RGB(0, 122, 255),
        RGB(0, 255, 163), RGB(255, 153, 0), RGB(0, 255, 10), RGB(255, 112, 0), RGB(143, 255, 0), RGB(82, 0, 255),
        RGB(163, 255, 0), RGB(255, 235, 0), RGB(8, 184, 170), RGB(133, 0, 255), RGB(0, 255, 92), RGB(184, 0, 255),
        RGB(255, 0, 31), RGB(0, 184, 255), RGB(0, 214, 255), RGB(255, 0, 112), RGB(92, 255, 0), RGB(0, 224, 255),
        RGB(112, 224, 255), RGB(70, 184, 160), RGB(163, 0, 255), RGB(153, 0, 255), RGB(71, 255, 0), RGB(255, 0, 163),
        RGB(255, 204, 0), RGB(255, 0, 143), RGB(0, 255, 235), RGB(133, 255, 0), RGB(255, 0, 235), RGB(245, 0, 255),
        RGB(255, 0, 122), RGB(255, 245, 0), RGB(10, 190, 212), RGB(214, 255, 0), RGB(0, 204, 255), RGB(20, 0, 255),
        RGB(255, 255, 0), RGB(0, 153, 255), RGB(0, 41, 255), RGB(0, 255, 204), RGB(41, 0, 255), RGB(41, 255, 0),
        RGB(173, 0, 255), RGB(0, 245, 255), RGB(71, 0, 255), RGB(122, 0, 255), RGB(0, 255, 184), RGB(0, 92, 255),
        RGB(184, 255, 0), RGB(0, 133, 255), RGB(255, 214, 0), RGB(25, 194, 194), RGB(102, 255, 0), RGB(92, 0, 255),
    ]

    /// Cityscapes' 19 evaluated classes in train-id order (`*_gtFine_labelTrainIds.png`).
    public static let cityscapesClassNames = [
        "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
        "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
    ]

    /// The official Cityscapes colours of the 19 train ids.
    public static let cityscapes: [RGB] = [
        RGB(128, 64, 128), RGB(244, 35, 232), RGB(70, 70, 70), RGB(102, 102, 156), RGB(190, 153, 153),
        RGB(153, 153, 153), RGB(250, 170, 30), RGB(220, 220, 0), RGB(107, 142, 35), RGB(152, 251, 152),
        RGB(70, 130, 180), RGB(220, 20, 60), RGB(255, 0, 0), RGB(0, 0, 142), RGB(0, 0, 70), RGB(0, 60, 100),
        RGB(0, 80, 100), RGB(0, 0, 230), RGB(119, 11, 32),
    ]
}
