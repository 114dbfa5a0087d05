#include <zlib.h>

// deflateInit2 and inflateInit2 are macros; Swift sees these functions instead.
// windowBits 15 + 16 selects the gzip wrapper (RFC 1952) rather than zlib's own.
static inline int ty_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int ty_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
