#define _GNU_SOURCE
#include "cimageio.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>

#define CIMG_STR2(x) #x
#define CIMG_STR(x) CIMG_STR2(x)

const char *cimg_png_runtime_version(void) { return png_get_libpng_ver(NULL); }

const char *cimg_jpeg_header_version(void) {
#ifdef LIBJPEG_TURBO_VERSION
    return CIMG_STR(LIBJPEG_TURBO_VERSION);
#else
    return "unknown";
#endif
}

int cimg_jpeg_lib_version(void) { return JPEG_LIB_VERSION; }

const char *cimg_jpeg_runtime_file(char *buffer, size_t size) {
    Dl_info info;
    if (dladdr((void *)&jpeg_std_error, &info) == 0 || info.dli_fname == NULL) return NULL;
    char resolved[PATH_MAX];
    const char *path = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
    const char *slash = strrchr(path, '/');
    snprintf(buffer, size, "%s", slash ? slash + 1 : path);
    return buffer;
}
