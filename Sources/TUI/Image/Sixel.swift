import CTerm
import Datasets
import Foundation

/// Sixel output through libsixel.
public enum SixelEncoder {
    /// `image` scaled to fit `width` × `height` pixels (aspect kept; height a multiple of 6 so
    /// the last sixel band does not spill into the next cell row) and encoded as a DCS sequence.
    public static func encode(_ image: RGBImage, fittingWidth width: Int, height: Int, isMask: Bool) -> [UInt8]? {
        let fit = ImageScaler.fit(width: image.width, height: image.height, maxWidth: width, maxHeight: height)
        let h6 = fit.height / 6 * 6
        guard fit.width > 0, h6 > 0 else { return nil }
        let scaled = isMask ? ImageScaler.nearest(image, width: fit.width, height: h6)
            : ImageScaler.areaAverage(image, width: fit.width, height: h6)
        return encode(scaled)
    }

    /// Encodes `image` as is. Nil when libsixel fails.
    public static func encode(_ image: RGBImage) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        let rc = image.pixels.withUnsafeBufferPointer { px in
            cterm_sixel_encode(px.baseAddress, Int32(image.width), Int32(image.height), &out, &length)
        }
        guard rc == 0, let out else { return nil }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: length))
    }
}

/// Where sixel images may go.
public enum SixelLayout {
    /// `rect` cut so it never reaches the screen's last row (a sixel there scrolls the screen).
    public static func safeRect(_ rect: Rect, screenRows: Int) -> Rect {
        let bottom = min(rect.maxY, screenRows - 1)
        return Rect(x: rect.x, y: rect.y, width: rect.width, height: bottom - rect.y)
    }
}
