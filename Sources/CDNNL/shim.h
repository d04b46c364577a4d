#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>
