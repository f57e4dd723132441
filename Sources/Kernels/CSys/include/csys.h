// csys.h: small system helpers for the Swift side (process and terminal plumbing; io_uring, NUMA
// and affinity helpers join them with the pipeline and the daemon).
#ifndef CSYS_H
#define CSYS_H

#ifdef __cplusplus
extern "C" {
#endif

// Makes stdout line-buffered, so progress lines reach a log file or pipe as they are printed.
// (Swift 6 cannot touch C's `stdout` global from its own code.)
void csys_line_buffered_stdout(void);

#ifdef __cplusplus
}
#endif
#endif
