#ifndef TRAINYARD_ALLOC_COUNT_H
#define TRAINYARD_ALLOC_COUNT_H

/// Heap allocations made by this process so far (malloc, calloc, realloc, posix_memalign,
/// aligned_alloc and memalign), counted by wrappers over glibc's own allocator. Linked into the
/// bench only: the app never carries them.
unsigned long trainyard_allocations(void);

#endif
