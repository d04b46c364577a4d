// JPEG and PNG decoding / encoding. libjpeg and libpng report fatal errors by calling an error
// routine that must not return; here it longjmps back into the function that started the work,
// which frees what it allocated and returns -1 with the library's message.
#include "cimageio.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

/// Refuse images larger than this many pixels (a corrupt header must not trigger a huge malloc).
#define CIMG_MAX_PIXELS (1u << 28)

void cimg_free(void *pointer) { free(pointer); }

static void set_error(char *error, const char *message) {
    if (error) snprintf(error, CIMG_ERROR_SIZE, "%s", message);
}

// MARK: - JPEG

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    char first_warning[JMSG_LENGTH_MAX];
    int warnings;
} cimg_jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo) {
    cimg_jpeg_error *err = (cimg_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/// Warnings that mean pixels were lost or invented are fatal; the rest are counted.
static int jpeg_warning_is_fatal(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        return 1;
    default:
        return 0;
    }
}

static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    cimg_jpeg_error *err = (cimg_jpeg_error *)cinfo->err;
    if (level >= 0) return;  // trace messages
    if (jpeg_warning_is_fatal(cinfo->err->msg_code)) {
        (*cinfo->err->format_message)(cinfo, err->message);
        longjmp(err->jump, 1);
    }
    if (err->warnings == 0) (*cinfo->err->format_message)(cinfo, err->first_warning);
    err->warnings++;
}

static void jpeg_silent_output(j_common_ptr cinfo) { (void)cinfo; }

static void init_jpeg_error(cimg_jpeg_error *err) {
    memset(err, 0, sizeof *err);
    jpeg_std_error(&err->base);
    err->base.error_exit = jpeg_error_exit;
    err->base.emit_message = jpeg_emit_message;
    err->base.output_message = jpeg_silent_output;
}

static int jpeg_kind(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return 1;
    case JCS_CMYK:
    case JCS_YCCK: return 4;
    default: return 3;
    }
}

int cimg_jpeg_info(const uint8_t *data, size_t size, cimg_image *out, char *error) {
    struct jpeg_decompress_struct cinfo;
    cimg_jpeg_error err;
    memset(out, 0, sizeof *out);
    init_jpeg_error(&err);
    cinfo.err = &err.base;
    if (setjmp(err.jump)) {
        set_error(error, err.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    out->width = (int32_t)cinfo.image_width;
    out->height = (int32_t)cinfo.image_height;
    out->channels = 3;
    out->kind = jpeg_kind(cinfo.jpeg_color_space);
    out->bit_depth = 8;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int cimg_jpeg_decode(const uint8_t *data, size_t size, int scale_denom, cimg_image *out, char *error) {
    struct jpeg_decompress_struct cinfo;
    cimg_jpeg_error err;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    memset(out, 0, sizeof *out);
    init_jpeg_error(&err);
    cinfo.err = &err.base;
    if (setjmp(err.jump)) {
        set_error(error, err.message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int kind = jpeg_kind(cinfo.jpeg_color_space);
    int adobe_inverted = cinfo.saw_Adobe_marker;
    if (kind == 4) {
        cinfo.out_color_space = JCS_CMYK;  // libjpeg converts YCCK to CMYK
    } else {
        cinfo.out_color_space = JCS_RGB;   // gray is expanded by libjpeg-turbo
    }
    if (scale_denom == 2 || scale_denom == 4 || scale_denom == 8) {
        cinfo.scale_num = 1;
        cinfo.scale_denom = (unsigned int)scale_denom;
    }
    jpeg_start_decompress(&cinfo);
    size_t width = cinfo.output_width, height = cinfo.output_height;
    if (width == 0 || height == 0 || width * height > CIMG_MAX_PIXELS) {
        snprintf(err.message, sizeof err.message, "image size %zux%zu is out of range (0 or above the limit of %u pixels, 16384x16384)", width, height, CIMG_MAX_PIXELS);
        longjmp(err.jump, 1);
    }
    pixels = malloc(width * height * 3);
    if (!pixels) {
        snprintf(err.message, sizeof err.message, "out of memory for %zux%zu pixels", width, height);
        longjmp(err.jump, 1);
    }
    if (kind == 4) {
        row = malloc(width * 4);
        if (!row) {
            snprintf(err.message, sizeof err.message, "out of memory");
            longjmp(err.jump, 1);
        }
        while (cinfo.output_scanline < height) {
            JSAMPROW rows[1] = { row };
            size_t y = cinfo.output_scanline;
            jpeg_read_scanlines(&cinfo, rows, 1);
            uint8_t *dst = pixels + y * width * 3;
            for (size_t x = 0; x < width; x++) {
                unsigned c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (!adobe_inverted) {  // plain CMYK stores ink amounts; Adobe files store 255 - ink
                    c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k;
                }
                dst[3 * x] = (uint8_t)((c * k + 127) / 255);
                dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                dst[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    } else {
        while (cinfo.output_scanline < height) {
            JSAMPROW rows[1] = { pixels + (size_t)cinfo.output_scanline * width * 3 };
            jpeg_read_scanlines(&cinfo, rows, 1);
        }
    }
    jpeg_finish_decompress(&cinfo);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = 3;
    out->kind = kind;
    out->bit_depth = 8;
    out->warnings = err.warnings;
    snprintf(out->first_warning, sizeof out->first_warning, "%s", err.first_warning);
    out->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return 0;
}

/// A growable in-memory destination whose buffer we own (so an error path can free it).
typedef struct {
    struct jpeg_destination_mgr pub;
    uint8_t *data;
    size_t capacity;
} cimg_jpeg_dest;

static void jpeg_dest_init(j_compress_ptr cinfo) {
    cimg_jpeg_dest *dest = (cimg_jpeg_dest *)cinfo->dest;
    dest->pub.next_output_byte = dest->data;
    dest->pub.free_in_buffer = dest->capacity;
}

static boolean jpeg_dest_empty(j_compress_ptr cinfo) {
    cimg_jpeg_dest *dest = (cimg_jpeg_dest *)cinfo->dest;
    size_t used = dest->capacity;  // libjpeg calls this only when the buffer is full
    uint8_t *grown = realloc(dest->data, dest->capacity * 2);
    if (!grown) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
    dest->data = grown;
    dest->capacity *= 2;
    dest->pub.next_output_byte = grown + used;
    dest->pub.free_in_buffer = dest->capacity - used;
    return TRUE;
}

static void jpeg_dest_term(j_compress_ptr cinfo) { (void)cinfo; }

int cimg_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     uint8_t **out_data, size_t *out_size, char *error) {
    struct jpeg_compress_struct cinfo;
    cimg_jpeg_error err;
    cimg_jpeg_dest dest;
    *out_data = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3)) {
        set_error(error, "JPEG encoding needs a non-empty image with 1 or 3 channels");
        return -1;
    }
    memset(&dest, 0, sizeof dest);
    dest.capacity = (size_t)width * (size_t)height * (size_t)channels / 4 + 4096;
    dest.data = malloc(dest.capacity);
    if (!dest.data) {
        set_error(error, "out of memory");
        return -1;
    }
    dest.pub.init_destination = jpeg_dest_init;
    dest.pub.empty_output_buffer = jpeg_dest_empty;
    dest.pub.term_destination = jpeg_dest_term;
    init_jpeg_error(&err);
    cinfo.err = &err.base;
    if (setjmp(err.jump)) {
        set_error(error, err.message);
        jpeg_destroy_compress(&cinfo);
        free(dest.data);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    cinfo.dest = &dest.pub;
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)channels) };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    *out_size = dest.capacity - dest.pub.free_in_buffer;
    *out_data = dest.data;
    jpeg_destroy_compress(&cinfo);
    return 0;
}

// MARK: - PNG

typedef struct {
    jmp_buf jump;
    char message[CIMG_ERROR_SIZE];
    int warnings;
    // reading
    const uint8_t *data;
    size_t size, offset;
    // writing
    uint8_t *out;
    size_t out_size, out_capacity;
} cimg_png_state;

static void png_error_fn(png_structp png, png_const_charp message) {
    cimg_png_state *state = (cimg_png_state *)png_get_error_ptr(png);
    snprintf(state->message, sizeof state->message, "%s", message ? message : "libpng error");
    longjmp(state->jump, 1);
}

static void png_warning_fn(png_structp png, png_const_charp message) {
    (void)message;
    cimg_png_state *state = (cimg_png_state *)png_get_error_ptr(png);
    state->warnings++;
}

static void png_read_fn(png_structp png, png_bytep dst, size_t length) {
    cimg_png_state *state = (cimg_png_state *)png_get_io_ptr(png);
    if (length > state->size - state->offset) png_error(png, "unexpected end of file (the PNG is truncated)");
    memcpy(dst, state->data + state->offset, length);
    state->offset += length;
}

static void png_write_fn(png_structp png, png_bytep src, size_t length) {
    cimg_png_state *state = (cimg_png_state *)png_get_io_ptr(png);
    if (state->out_size + length > state->out_capacity) {
        size_t capacity = state->out_capacity ? state->out_capacity : 4096;
        while (capacity < state->out_size + length) capacity *= 2;
        uint8_t *grown = realloc(state->out, capacity);
        if (!grown) png_error(png, "out of memory");
        state->out = grown;
        state->out_capacity = capacity;
    }
    memcpy(state->out + state->out_size, src, length);
    state->out_size += length;
}

static void png_flush_fn(png_structp png) { (void)png; }

static int png_read(const uint8_t *data, size_t size, int header_only, cimg_image *out, char *error) {
    cimg_png_state state;
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    memset(out, 0, sizeof *out);
    memset(&state, 0, sizeof state);
    state.data = data;
    state.size = size;
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_error(error, "not a PNG file (bad signature)");
        return -1;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_fn, png_warning_fn);
    if (!png) {
        set_error(error, "cannot create a libpng reader");
        return -1;
    }
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_error(error, "cannot create a libpng reader");
        return -1;
    }
    if (setjmp(state.jump)) {
        set_error(error, state.message);
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &state, png_read_fn);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->bit_depth = bit_depth;
    switch (color_type) {
    case PNG_COLOR_TYPE_PALETTE: out->kind = CIMG_PNG_PALETTED; out->channels = 1; break;
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_GRAY_ALPHA: out->kind = CIMG_PNG_GRAY; out->channels = 1; break;
    default: out->kind = CIMG_PNG_RGB; out->channels = 3; break;
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp plte = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &plte, &count) == PNG_INFO_PLTE && plte) {
            if (count > 256) count = 256;
            for (int i = 0; i < count; i++) {
                out->palette[3 * i] = plte[i].red;
                out->palette[3 * i + 1] = plte[i].green;
                out->palette[3 * i + 2] = plte[i].blue;
            }
            out->palette_count = count;
        }
    }
    if (header_only) {
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    if ((size_t)width * (size_t)height > CIMG_MAX_PIXELS) {
        snprintf(state.message, sizeof state.message, "image size %ux%u is above the limit of %u pixels (16384x16384)",
                 (unsigned)width, (unsigned)height, CIMG_MAX_PIXELS);
        longjmp(state.jump, 1);
    }
    // 16-bit gray is read as is and narrowed below: a mask of class indices stored in 16 bits
    // (values 0…255, 65535 for void) must keep its values, which scaling would turn into 0.
    int gray16 = bit_depth == 16 && (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA);
    if (bit_depth == 16 && !gray16) png_set_scale_16(png);
    if (bit_depth < 8) png_set_packing(png);  // raw indices / gray values, one byte each
    if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)width * (size_t)out->channels * (gray16 ? 2 : 1)) {
        snprintf(state.message, sizeof state.message, "unexpected row size %zu for a %u px wide image",
                 rowbytes, (unsigned)width);
        longjmp(state.jump, 1);
    }
    pixels = malloc(rowbytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        snprintf(state.message, sizeof state.message, "out of memory");
        longjmp(state.jump, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);  // checks the remaining chunks' CRCs and that IEND is present
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (gray16) {
        // Big-endian samples → one byte each, in place (the write index never passes the read one).
        size_t n = (size_t)width * (size_t)height;
        int exact = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned v = ((unsigned)pixels[2 * i] << 8) | pixels[2 * i + 1];
            if (v > 255 && v != 65535) { exact = 0; break; }
        }
        for (size_t i = 0; i < n; i++) {
            unsigned v = ((unsigned)pixels[2 * i] << 8) | pixels[2 * i + 1];
            pixels[i] = exact ? (uint8_t)(v == 65535 ? 255 : v) : (uint8_t)((v * 255u + 32767u) / 65535u);
        }
        out->exact16 = exact;
    }
    out->warnings = state.warnings;
    out->pixels = pixels;
    return 0;
}

int cimg_png_decode(const uint8_t *data, size_t size, cimg_image *out, char *error) {
    return png_read(data, size, 0, out, error);
}

int cimg_png_info(const uint8_t *data, size_t size, cimg_image *out, char *error) {
    return png_read(data, size, 1, out, error);
}

int cimg_png_encode(const uint8_t *pixels, int width, int height, int kind,
                    const uint8_t *palette, int palette_count, int level,
                    uint8_t **out_data, size_t *out_size, char *error) {
    cimg_png_state state;
    png_structp png = NULL;
    png_infop info = NULL;
    png_bytep *volatile rows = NULL;
    *out_data = NULL;
    *out_size = 0;
    memset(&state, 0, sizeof state);
    if (width <= 0 || height <= 0) {
        set_error(error, "PNG encoding needs a non-empty image");
        return -1;
    }
    if (kind == CIMG_PNG_PALETTED && (palette == NULL || palette_count < 1 || palette_count > 256)) {
        set_error(error, "a paletted PNG needs 1 to 256 palette entries");
        return -1;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_error_fn, png_warning_fn);
    if (!png) {
        set_error(error, "cannot create a libpng writer");
        return -1;
    }
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        set_error(error, "cannot create a libpng writer");
        return -1;
    }
    if (setjmp(state.jump)) {
        set_error(error, state.message);
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(state.out);
        return -1;
    }
    png_set_write_fn(png, &state, png_write_fn, png_flush_fn);
    png_set_compression_level(png, level < 0 ? 0 : (level > 9 ? 9 : level));
    int channels = kind == CIMG_PNG_RGB ? 3 : 1;
    int color_type = kind == CIMG_PNG_PALETTED ? PNG_COLOR_TYPE_PALETTE
                   : (kind == CIMG_PNG_RGB ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (kind == CIMG_PNG_PALETTED) {
        png_color plte[256];
        for (int i = 0; i < palette_count; i++) {
            plte[i].red = palette[3 * i];
            plte[i].green = palette[3 * i + 1];
            plte[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, plte, palette_count);
        png_set_filter(png, 0, PNG_FILTER_NONE);  // filters rarely help index data
    }
    png_write_info(png, info);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * (size_t)width * (size_t)channels);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *out_data = state.out;
    *out_size = state.out_size;
    return 0;
}
