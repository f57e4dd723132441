// Checkpoint file writes through io_uring (liburing): all files of a checkpoint are written with
// one ring, then fsynced, so the kernel overlaps the I/O of every file.
#define _GNU_SOURCE
#include "csys.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { QUEUE_DEPTH = 64, PIECE = 4 << 20 };  // up to 64 requests in flight, 4 MiB each

typedef struct {
  int fd;
  const char *data;
  unsigned long length;
  unsigned long queued;  // bytes handed to the kernel so far (in pieces)
} file_state;

// One write in flight: its file, offset and length (a short write is resubmitted from here).
typedef struct {
  int file;
  unsigned long offset, length;
} piece;

static int open_all(int dirfd, const char *const *names, int count, file_state *files, int *failed_index) {
  for (int i = 0; i < count; i++) {
    files[i].fd = openat(dirfd, names[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (files[i].fd < 0) {
      *failed_index = i;
      return -errno;
    }
  }
  return 0;
}

static void close_all(file_state *files, int count) {
  for (int i = 0; i < count; i++) {
    if (files[i].fd >= 0) close(files[i].fd);
  }
}

// Plain pwrite + fsync, where io_uring is unavailable.
static int write_plain(file_state *files, int count, int *failed_index) {
  for (int i = 0; i < count; i++) {
    unsigned long done = 0;
    while (done < files[i].length) {
      ssize_t n = pwrite(files[i].fd, files[i].data + done, files[i].length - done, (off_t)done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        *failed_index = i;
        return n < 0 ? -errno : -EIO;
      }
      done += (unsigned long)n;
    }
    if (fsync(files[i].fd) != 0) {
      *failed_index = i;
      return -errno;
    }
  }
  return 0;
}

static void submit_piece(struct io_uring *ring, file_state *files, piece *pieces, int slot) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);  // never NULL: at most QUEUE_DEPTH in flight
  piece *p = &pieces[slot];
  io_uring_prep_write(sqe, files[p->file].fd, files[p->file].data + p->offset, (unsigned)p->length, p->offset);
  io_uring_sqe_set_data64(sqe, (unsigned long long)slot);
}

// Fills free slots with the next pieces of the files; returns how many slots are in use.
static int fill_slots(struct io_uring *ring, file_state *files, int count, piece *pieces, int *free_slots, int *free_count, int *next_file) {
  while (*free_count > 0 && *next_file < count) {
    file_state *f = &files[*next_file];
    if (f->queued >= f->length) {
      (*next_file)++;
      continue;
    }
    int slot = free_slots[--(*free_count)];
    unsigned long n = f->length - f->queued;
    pieces[slot] = (piece){.file = *next_file, .offset = f->queued, .length = n > PIECE ? PIECE : n};
    f->queued += pieces[slot].length;
    submit_piece(ring, files, pieces, slot);
  }
  return QUEUE_DEPTH - *free_count;
}

static int write_uring(struct io_uring *ring, file_state *files, int count, int *failed_index) {
  piece pieces[QUEUE_DEPTH];
  int free_slots[QUEUE_DEPTH], free_count = QUEUE_DEPTH, next_file = 0;
  for (int i = 0; i < QUEUE_DEPTH; i++) free_slots[i] = i;
  int in_flight = fill_slots(ring, files, count, pieces, free_slots, &free_count, &next_file);
  while (in_flight > 0) {
    int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR) return rc;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int error = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      seen++;
      int slot = (int)cqe->user_data;
      piece *p = &pieces[slot];
      if (cqe->res <= 0 && error == 0) {
        error = cqe->res < 0 ? cqe->res : -EIO;
        *failed_index = p->file;
      }
      if (cqe->res > 0 && (unsigned long)cqe->res < p->length) {
        p->offset += (unsigned long)cqe->res;  // short write: resubmit the rest
        p->length -= (unsigned long)cqe->res;
        submit_piece(ring, files, pieces, slot);
      } else {
        free_slots[free_count++] = slot;
      }
    }
    io_uring_cq_advance(ring, seen);
    if (error != 0) {
      // Let the requests still in flight finish before the buffers and files go away.
      while (free_count < QUEUE_DEPTH && io_uring_submit_and_wait(ring, 1) >= 0) {
        unsigned drained = 0;
        io_uring_for_each_cqe(ring, head, cqe) {
          drained++;
          free_slots[free_count++] = (int)cqe->user_data;
        }
        io_uring_cq_advance(ring, drained);
      }
      return error;
    }
    in_flight = fill_slots(ring, files, count, pieces, free_slots, &free_count, &next_file);
  }
  // fsync every file, all in flight together (count may exceed the queue: submit as it fills).
  int pending = 0;
  for (int i = 0; i < count; i++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (sqe == NULL) {
      io_uring_submit(ring);
      sqe = io_uring_get_sqe(ring);
    }
    io_uring_prep_fsync(sqe, files[i].fd, 0);
    io_uring_sqe_set_data64(sqe, (unsigned long long)i);
    pending++;
  }
  int error = 0;
  while (pending > 0) {
    int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR) return rc;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      seen++;
      pending--;
      if (cqe->res < 0 && error == 0) {
        error = cqe->res;
        *failed_index = (int)cqe->user_data;
      }
    }
    io_uring_cq_advance(ring, seen);
  }
  return error;
}

int csys_write_files(int dirfd, const char *const *names, const void *const *data, const unsigned long *lengths,
                     int count, int *used_uring, int *failed_index) {
  *failed_index = -1;
  *used_uring = 0;
  file_state *files = calloc((size_t)(count > 0 ? count : 1), sizeof *files);
  if (files == NULL) return -ENOMEM;
  for (int i = 0; i < count; i++) {
    files[i] = (file_state){.fd = -1, .data = data[i], .length = lengths[i], .queued = 0};
  }
  int rc = open_all(dirfd, names, count, files, failed_index);
  if (rc == 0) {
    struct io_uring ring;
    if (io_uring_queue_init(QUEUE_DEPTH, &ring, 0) == 0) {
      *used_uring = 1;
      rc = write_uring(&ring, files, count, failed_index);
      io_uring_queue_exit(&ring);
    } else {
      rc = write_plain(files, count, failed_index);
    }
  }
  close_all(files, count);
  free(files);
  return rc;
}
