#ifndef SEGSCOPE_CIMAGEIO_H
#define SEGSCOPE_CIMAGEIO_H
// libjpeg / libpng behind functions that return status codes: both libraries report errors by
// longjmp, which Swift cannot survive, so every call into them happens here.
#include <stddef.h>
#include <stdint.h>

/// libpng version string of the library loaded at run time (e.g. "1.6.39").
const char *cimg_png_runtime_version(void);
/// libjpeg-turbo version the headers describe (e.g. "2.1.5").
const char *cimg_jpeg_header_version(void);
/// libjpeg API version implemented by the loaded library (e.g. 62).
int cimg_jpeg_lib_version(void);
/// Resolved file name of the shared object that provides `jpeg_std_error`
/// (e.g. "libjpeg.so.62.3.0"), or NULL. Writes into `buffer`.
const char *cimg_jpeg_runtime_file(char *buffer, size_t size);

// MARK: - Decoding and encoding
//
// Every function returns 0 on success and -1 on failure; on failure `error` (CIMG_ERROR_SIZE
// bytes) holds the decoder's message. Pixel buffers a decoder returns are malloc'd and must be
// released with cimg_free. Inputs are whole files in memory.

#define CIMG_ERROR_SIZE 256

/// How the pixels of a decoded PNG are to be read.
enum {
    /// 1 channel: class indices into `palette` (PNG colour type 3).
    CIMG_PNG_PALETTED = 0,
    /// 1 channel: gray values (colour types 0 and 4; alpha dropped).
    CIMG_PNG_GRAY = 1,
    /// 3 channels: RGB (colour types 2 and 6; alpha dropped).
    CIMG_PNG_RGB = 2,
};

typedef struct {
    int32_t width;
    int32_t height;
    /// 1 or 3.
    int32_t channels;
    /// CIMG_PNG_* for PNGs; for JPEGs the colour space found in the file (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK).
    int32_t kind;
    /// PNG bit depth in the file (1, 2, 4, 8, 16); 8 for JPEGs.
    int32_t bit_depth;
    /// Number of PLTE entries (0 unless kind == CIMG_PNG_PALETTED).
    int32_t palette_count;
    /// PLTE entries as R G B triples.
    uint8_t palette[256 * 3];
    /// Count of recoverable warnings (e.g. JPEG "extraneous bytes before marker").
    int32_t warnings;
    /// 16-bit gray PNGs: 1 when every sample was ≤ 255 or 65535 and was kept exactly (65535 as
    /// 255), so class indices survive; 0 when the samples were scaled to 8 bits.
    int32_t exact16;
    /// The first recoverable warning's text (JPEG), empty when there was none.
    char first_warning[CIMG_ERROR_SIZE];
    /// width * height * channels bytes, rows top to bottom (NULL from the *_info functions).
    uint8_t *pixels;
} cimg_image;

/// Frees a buffer a cimg function allocated (NULL is fine).
void cimg_free(void *pointer);

/// Decodes a JPEG to 8-bit RGB (gray is expanded, CMYK / YCCK converted). `scale_denom` 1, 2, 4
/// or 8 decodes at that fraction of the size (DCT scaling). Data-losing warnings (premature end
/// of file, corrupt entropy data) are errors: a partial image is never returned as success.
int cimg_jpeg_decode(const uint8_t *data, size_t size, int scale_denom, cimg_image *out, char *error);

/// Reads only a JPEG's header: width, height and colour space (no pixels).
int cimg_jpeg_info(const uint8_t *data, size_t size, cimg_image *out, char *error);

/// Encodes 8-bit RGB (channels 3) or gray (channels 1) pixels as a baseline JPEG at `quality`
/// (1…100). On success *out_data (malloc'd) holds *out_size bytes.
int cimg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     uint8_t **out_data, size_t *out_size, char *error);

/// Decodes a PNG: paletted files give indices and the palette (sub-byte depths expanded), gray
/// and gray+alpha give gray, RGB and RGBA give RGB; 16-bit samples are scaled to 8 bits. Every
/// chunk's CRC is checked and the file must end with IEND.
int cimg_png_decode(const uint8_t *data, size_t size, cimg_image *out, char *error);

/// Reads only a PNG's header (IHDR, and PLTE when present).
int cimg_png_info(const uint8_t *data, size_t size, cimg_image *out, char *error);

/// Encodes 8-bit pixels as a PNG. `kind` CIMG_PNG_PALETTED writes colour type 3 with
/// `palette_count` PLTE entries from `palette` (R G B triples); CIMG_PNG_GRAY writes 8-bit
/// gray; CIMG_PNG_RGB writes 8-bit RGB. `level` is the zlib level (0…9).
int cimg_png_encode(const uint8_t *pixels, int width, int height, int kind,
                    const uint8_t *palette, int palette_count, int level,
                    uint8_t **out_data, size_t *out_size, char *error);

#endif
