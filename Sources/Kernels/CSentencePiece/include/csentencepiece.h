// csentencepiece.h: a C API over Debian's libsentencepiece: load a tokenizer model, encode and
// decode, and train a small model from sentences held in memory.
//
// This target is built as its own shared library (librlinf-sentencepiece.so) and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by CSentencePieceLoader, never linked: libsentencepiece
// carries a private protobuf-lite whose symbols clash with the libprotobuf libtorch loads.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H

#include <stddef.h>

#include "spm_api.h"

#ifdef __cplusplus
extern "C" {
#endif

// Loads a serialized model (the bytes of a .model file). NULL with a message on failure.
spm_processor *spm_load(const char *bytes, size_t length, char *error, int error_size);
void spm_free(spm_processor *p);

// Token ids of `text` (no BOS/EOS); writes at most `capacity`, returns the full count or -1.
int spm_encode(const spm_processor *p, const char *text, int *ids, int capacity);
// Text of ids, into out (NUL-terminated, truncated to capacity); returns the full length or -1.
int spm_decode(const spm_processor *p, const int *ids, int count, char *out, int capacity);
int spm_vocab_size(const spm_processor *p);
int spm_bos_id(const spm_processor *p);
int spm_eos_id(const spm_processor *p);
int spm_unk_id(const spm_processor *p);
int spm_pad_id(const spm_processor *p);

// Trains a model on `count` sentences with trainer flags (e.g. "--vocab_size=128
// --model_type=bpe"). Returns a malloc'ed serialized model (free with spm_free_bytes) and its
// length, or NULL with a message.
char *spm_train(const char *const *sentences, int count, const char *flags, size_t *length,
                char *error, int error_size);
void spm_free_bytes(char *bytes);

// Every function above, for the loader (type in spm_api.h; looked up with dlsym as
// "spm_api_table").
const spm_api *spm_api_table(void);

#ifdef __cplusplus
}
#endif
#endif
