// epoll, eventfd and accept4 for the HTTP server. Swift's Glibc module does not export these
// headers, and `struct epoll_event` is packed on x86_64, so small inline wrappers keep the
// layout in C where the compiler knows it.
#ifndef TRAINYARD_CEPOLL_H
#define TRAINYARD_CEPOLL_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// Declared by <sys/socket.h> only under _GNU_SOURCE; the prototype is glibc's.
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

static const uint32_t cepoll_in = EPOLLIN;
static const uint32_t cepoll_out = EPOLLOUT;
static const uint32_t cepoll_err = EPOLLERR;
static const uint32_t cepoll_hup = EPOLLHUP;
static const uint32_t cepoll_oneshot = EPOLLONESHOT;

/// SOCK_NONBLOCK | SOCK_CLOEXEC for socket(2); named here because Swift's view of the socket
/// type enum loses these two members in some build configurations.
static const int cepoll_socket_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;

static inline int cepoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int cepoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

static inline int cepoll_add(int epfd, int fd, uint32_t events, uint64_t data) { return cepoll_ctl(epfd, EPOLL_CTL_ADD, fd, events, data); }
static inline int cepoll_modify(int epfd, int fd, uint32_t events, uint64_t data) { return cepoll_ctl(epfd, EPOLL_CTL_MOD, fd, events, data); }
static inline int cepoll_delete(int epfd, int fd) { return cepoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0); }

/// A buffer for `capacity` events; free with cepoll_free_events.
static inline void *cepoll_allocate_events(int capacity) { return calloc((size_t)capacity, sizeof(struct epoll_event)); }
static inline void cepoll_free_events(void *events) { free(events); }

static inline int cepoll_wait(int epfd, void *events, int capacity, int timeout_ms) {
    return epoll_wait(epfd, (struct epoll_event *)events, capacity, timeout_ms);
}

static inline uint32_t cepoll_event_flags(const void *events, int index) { return ((const struct epoll_event *)events)[index].events; }
static inline uint64_t cepoll_event_data(const void *events, int index) { return ((const struct epoll_event *)events)[index].data.u64; }

static inline int cepoll_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int cepoll_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#endif
