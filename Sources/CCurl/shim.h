// Typed doors into libcurl for Swift.
//
// curl_easy_setopt and curl_easy_getinfo are variadic, so Swift cannot call
// them. Each wrapper below fixes the type of the last argument; the caller
// picks the wrapper that matches the option's documented type (long,
// pointer, string, curl_off_t, or a callback of a given signature).
#ifndef TRAINYARD_CCURL_SHIM_H
#define TRAINYARD_CCURL_SHIM_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static inline CURLcode ccurl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

// libcurl copies string options (since 7.17.0), so the Swift string may go
// away after the call.
static inline CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode ccurl_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
}

static inline CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

// The string stays owned by the handle: copy it before curl_easy_cleanup.
static inline CURLcode ccurl_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    return curl_easy_getinfo(handle, info, value);
}

// The peer address libcurl is about to connect to, as raw network-order
// bytes. Returns 4 (IPv4) or 16 (IPv6) and fills `out`; returns 0 for any
// other family or a short address, which the caller must refuse.
// `struct curl_sockaddr` ends in a `struct sockaddr` that is really as long
// as `addrlen`, which is awkward to reach from Swift; C reads it safely.
static inline int ccurl_sockaddr_ip(const struct curl_sockaddr *address, unsigned char out[16]) {
    if (address == NULL) return 0;
    if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in4;
        memcpy(&in4, &address->addr, sizeof in4);
        memcpy(out, &in4.sin_addr, 4);
        return 4;
    }
    if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, &address->addr, sizeof in6);
        memcpy(out, &in6.sin6_addr, 16);
        return 16;
    }
    return 0;
}

#endif
