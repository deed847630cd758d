/* arena.c - the internal bump allocator (see arena.h). Chunks are 1 MiB (or
 * larger for big requests); the unused tail of a chunk is abandoned when a
 * request does not fit. Guarded by arena_lock. */
#include "arena.h"

#include <stdint.h>

#include "lock.h"
#include "os.h"

#define CHUNK ((size_t)1 << 20)

static mt_lock_t arena_lock;
static uintptr_t cur, end;
static size_t handed;

void *mt_arena_alloc(size_t size) {
  size = (size + 63) & ~(size_t)63;
  mt_lock(&arena_lock);
  if (end - cur < size) {
    size_t len = size > CHUNK ? (size + CHUNK - 1) & ~(CHUNK - 1) : CHUNK;
    void *p = mt_os_map(len);
    if (p == NULL) {
      mt_unlock(&arena_lock);
      return NULL;
    }
    cur = (uintptr_t)p;
    end = cur + len;
  }
  void *r = (void *)cur;
  cur += size;
  handed += size;
  mt_unlock(&arena_lock);
  return r;
}

size_t mt_arena_bytes(void) { return handed; }
void mt_arena_fork_prepare(void) { mt_lock(&arena_lock); }
void mt_arena_fork_parent(void) { mt_unlock(&arena_lock); }
void mt_arena_fork_child(void) { mt_lock_reset(&arena_lock); }
