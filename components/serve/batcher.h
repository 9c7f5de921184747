// Dynamic batching: requests from many HTTP threads wait in one bounded queue; one worker takes
// the model once per batch, concatenates up to max_batch images (waiting at most max_delay after
// the first request for as many images as the last batch held), runs one forward pass and hands
// each request its rows. A request whose deadline passed while it queued is answered without
// being computed.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "models.h"

namespace advkfp::serve {

struct BatchResult {
  torch::Tensor logits;  ///< [n, classes], undefined on error
  ModelPtr model;        ///< the model that computed them
  int status = 200;      ///< HTTP status of an error
  std::string error;
};

struct BatcherConfig {
  int64_t max_batch = 32;                           ///< images per forward pass (1: no batching)
  std::chrono::microseconds max_delay{2000};        ///< longest wait for more after the first
  int64_t queue_capacity = 128;                     ///< queued requests; more are refused
};

class Batcher {
 public:
  using Clock = std::chrono::steady_clock;
  /// A hook `(images, logits, model)` run on the worker for each batch computed.
  using BatchHook = std::function<void(const torch::Tensor&, const torch::Tensor&, const ModelPtr&)>;

  /// `on_computed` runs after the forward pass and before any request of the batch is answered,
  /// so that what it records (metrics) is visible to whoever got an answer; it must be cheap.
  /// `on_answered` runs after the answers (live detection); it must not block for long.
  Batcher(BatcherConfig config, ModelSlot& slot, BatchHook on_computed, BatchHook on_answered);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Queues `images` (float32 [n,C,H,W]); nothing when the queue is full or the batcher stopped.
  std::optional<std::future<BatchResult>> submit(torch::Tensor images, Clock::time_point deadline);
  /// Finishes every queued request, then stops the worker.
  void stop();
  int64_t queued() const;
  int64_t capacity() const { return config_.queue_capacity; }

 private:
  struct Job {
    torch::Tensor images;
    Clock::time_point deadline;
    std::promise<BatchResult> promise;
  };
  void loop();

  BatcherConfig config_;
  ModelSlot& slot_;
  BatchHook on_computed_;
  BatchHook on_answered_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  int64_t expected_ = 1;  ///< images the batcher waits for: the last batch's (at first max_batch)
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace advkfp::serve
