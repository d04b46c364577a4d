import CImageIO

/// Versions of the image codecs loaded at run time (`segscope doctor`).
public enum ImageLibraries {
    public static var pngVersion: String {
        guard let v = cimg_png_runtime_version() else { return "unknown" }
        return String(cString: v)
    }

    /// libjpeg-turbo version from its headers, with the shared object actually loaded.
    public static var jpegVersion: String {
        var buffer = [CChar](repeating: 0, count: 256)
        let header = String(cString: cimg_jpeg_header_version())
        let file = buffer.withUnsafeMutableBufferPointer { p -> String? in
            guard let s = cimg_jpeg_runtime_file(p.baseAddress, p.count) else { return nil }
            return String(cString: s)
        }
        return "libjpeg-turbo \(header) (API \(cimg_jpeg_lib_version()))" + (file.map { ", \($0)" } ?? "")
    }
}
