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

#endif
