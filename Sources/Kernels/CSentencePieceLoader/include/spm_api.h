// spm_api.h: the SentencePiece C API as a table of function pointers (the shim library fills
// it, see csentencepiece.h), and the loader that finds that library.
//
// This target is built as its own shared library (librlinf-sentencepiece.so) and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by CSentencePieceLoader, never linked: libsentencepiece
// carries a private protobuf-lite whose symbols clash with the libprotobuf libtorch loads.
#ifndef SPM_API_H
#define SPM_API_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

typedef struct spm_api {
  spm_processor *(*load)(const char *, size_t, char *, int);
  void (*free)(spm_processor *);
  int (*encode)(const spm_processor *, const char *, int *, int);
  int (*decode)(const spm_processor *, const int *, int, char *, int);
  int (*vocab_size)(const spm_processor *);
  int (*bos_id)(const spm_processor *);
  int (*eos_id)(const spm_processor *);
  int (*unk_id)(const spm_processor *);
  int (*pad_id)(const spm_processor *);
  char *(*train)(const char *const *, int, const char *, size_t *, char *, int);
  void (*free_bytes)(char *);
} spm_api;

// Loads librlinf-sentencepiece.so privately (RTLD_LOCAL | RTLD_DEEPBIND) and returns its table,
// or NULL with the reason in `error`. Looks in $RLINF_SENTENCEPIECE_LIB, then next to the running
// executable, then next to this library. Loads once; later calls return the same table.
const spm_api *spm_open(char *error, int error_size);

#ifdef __cplusplus
}
#endif
#endif
