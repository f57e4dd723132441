// The SentencePiece C API: wraps sentencepiece::SentencePieceProcessor and the trainer.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "csentencepiece.h"

struct spm_processor {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void set_error(char *error, int size, const std::string &message) {
  if (error && size > 0) std::snprintf(error, static_cast<size_t>(size), "%s", message.c_str());
}

// Feeds in-memory sentences to the trainer.
class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const char *const *sentences, int count) : sentences_(sentences), count_(count) {
    if (count_ > 0) current_ = sentences_[0];
  }
  bool done() const override { return index_ >= count_; }
  void Next() override {
    if (++index_ < count_) current_ = sentences_[index_];
  }
  const std::string &value() const override { return current_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  const char *const *sentences_;
  int count_;
  int index_ = 0;
  std::string current_;
};

}  // namespace

extern "C" {

spm_processor *spm_load(const char *bytes, size_t length, char *error, int error_size) {
  auto *p = new spm_processor;
  auto status = p->processor.LoadFromSerializedProto(std::string(bytes, length));
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

void spm_free(spm_processor *p) { delete p; }

int spm_encode(const spm_processor *p, const char *text, int *ids, int capacity) {
  std::vector<int> out;
  if (!p->processor.Encode(text, &out).ok()) return -1;
  for (int i = 0; i < capacity && i < static_cast<int>(out.size()); i++) ids[i] = out[i];
  return static_cast<int>(out.size());
}

int spm_decode(const spm_processor *p, const int *ids, int count, char *out, int capacity) {
  std::string text;
  if (!p->processor.Decode(std::vector<int>(ids, ids + count), &text).ok()) return -1;
  if (capacity > 0) std::snprintf(out, static_cast<size_t>(capacity), "%s", text.c_str());
  return static_cast<int>(text.size());
}

int spm_vocab_size(const spm_processor *p) { return p->processor.GetPieceSize(); }
int spm_bos_id(const spm_processor *p) { return p->processor.bos_id(); }
int spm_eos_id(const spm_processor *p) { return p->processor.eos_id(); }
int spm_unk_id(const spm_processor *p) { return p->processor.unk_id(); }
int spm_pad_id(const spm_processor *p) { return p->processor.pad_id(); }

char *spm_train(const char *const *sentences, int count, const char *flags, size_t *length,
                char *error, int error_size) {
  Sentences iterator(sentences, count);
  std::string model;
  auto status = sentencepiece::SentencePieceTrainer::Train(flags, &iterator, &model);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    return nullptr;
  }
  char *bytes = static_cast<char *>(std::malloc(model.size()));
  std::memcpy(bytes, model.data(), model.size());
  *length = model.size();
  return bytes;
}

void spm_free_bytes(char *bytes) { std::free(bytes); }

const spm_api *spm_api_table(void) {
  static const spm_api table = {spm_load,   spm_free,   spm_encode, spm_decode,
                                spm_vocab_size, spm_bos_id, spm_eos_id, spm_unk_id,
                                spm_pad_id, spm_train,  spm_free_bytes};
  return &table;
}

}  // extern "C"
