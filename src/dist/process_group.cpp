// Rendezvous through a TCPStore and collectives through a c10d backend.
#include "lunar/dist/process_group.h"

#include <cstdlib>
#include <thread>
#include <utility>

#include "c10d_compat.h"
#include "lunar/core/error.h"

namespace lunar::dist {

struct ProcessGroup::Impl {
  int64_t rank = 0, world_size = 1;
  std::string backend;
  at::Device device = at::kCPU;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::Backend> group;
};

namespace {

std::string cause(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    return c10_error->what_without_backtrace();
  }
  return error.what();
}

// Runs one c10d call; its exceptions become a lunar::Error that names this rank.
template <class F>
auto guarded(const ProcessGroup::Impl& impl, const std::string& operation, F&& call) {
  try {
    return call();
  } catch (const std::exception& error) {
    // With two ranks the culprit is known; with more, Gloo's message names its address.
    const std::string peer =
        impl.world_size == 2 ? fmt::format("rank {}", 1 - impl.rank) : std::string("another rank");
    throw Error(
        fmt::format("[dist] rank {} of {}: {} failed: {} ({} exited or did not answer within "
                    "runtime.dist_timeout_s = {} s)",
                    impl.rank, impl.world_size, operation, cause(error), peer,
                    std::chrono::duration_cast<std::chrono::seconds>(impl.timeout).count()));
  }
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The network interface Gloo binds: GLOO_SOCKET_IFNAME when set (as in PyTorch), loopback for a
// single-machine run, else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

void wait(const ProcessGroup::Impl& impl, const c10::intrusive_ptr<c10d::Work>& work) {
  if (!work->wait(impl.timeout)) {
    std::rethrow_exception(work->exception());
  }
}

// Counts this rank in and polls until all `world_size` ranks have arrived or `timeout` passes;
// returns how many arrived.
int64_t wait_for_ranks(c10d::Store& store, int64_t world_size, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int64_t arrived = store.add("arrived", 1);
  while (arrived < world_size && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    arrived = store.add("arrived", 0);
  }
  return arrived;
}

}  // namespace

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env, const at::Device& device,
                                                    std::chrono::seconds timeout) {
  check(timeout.count() > 0, "[dist] expected a positive timeout, got {} s", timeout.count());
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->world_size = env.world_size;
  impl->device = device;
  impl->timeout = timeout;
  int64_t arrived = 0;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = false;  // wait_for_ranks counts arrivals with a clearer error
    options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    impl->store = c10::make_intrusive<c10d::PrefixStore>("lunar", tcp);
    arrived = wait_for_ranks(*impl->store, env.world_size, timeout);
  } catch (const std::exception& error) {
    throw Error(fmt::format(
        "[dist] rank {} of {}: rendezvous at {}:{} failed within runtime.dist_timeout_s = {} s: "
        "{} (are all {} processes started, with the same MASTER_ADDR and MASTER_PORT?)",
        env.rank, env.world_size, env.master_addr, env.master_port, timeout.count(), cause(error),
        env.world_size));
  }
  check(arrived == env.world_size,
        "[dist] rank {} of {}: rendezvous at {}:{}: only {} of {} ranks arrived within "
        "runtime.dist_timeout_s = {} s (are all of them started, with the same MASTER_ADDR and "
        "MASTER_PORT?)",
        env.rank, env.world_size, env.master_addr, env.master_port, arrived, env.world_size,
        timeout.count());
  guarded(*impl, "connecting the process group", [&] {
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          impl->store, static_cast<int>(env.rank), static_cast<int>(env.world_size), options);
      impl->backend = "nccl";
      return;
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(env.master_addr));
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        impl->store, static_cast<int>(env.rank), static_cast<int>(env.world_size), options);
    impl->backend = "gloo";
  });
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

int64_t ProcessGroup::rank() const { return impl_->rank; }
int64_t ProcessGroup::world_size() const { return impl_->world_size; }
const std::string& ProcessGroup::backend() const { return impl_->backend; }
const at::Device& ProcessGroup::device() const { return impl_->device; }

void ProcessGroup::broadcast(const std::vector<at::Tensor>& tensors, int64_t root) {
  guarded(*impl_, "broadcast from rank " + std::to_string(root), [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (const auto& tensor : tensors) {
      std::vector<at::Tensor> one{tensor};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      works.push_back(impl_->group->broadcast(one, options));
    }
    for (const auto& work : works) wait(*impl_, work);
  });
}

std::function<void()> ProcessGroup::start_all_reduce_sum(const at::Tensor& tensor) {
  auto work = guarded(*impl_, "all-reduce", [&] {
    std::vector<at::Tensor> one{tensor};
    return impl_->group->allreduce(one, c10d::AllreduceOptions());
  });
  const Impl* impl = impl_.get();
  return [impl, work] { guarded(*impl, "all-reduce", [&] { wait(*impl, work); }); };
}

void ProcessGroup::all_reduce_sum(const std::vector<at::Tensor>& tensors) {
  std::vector<std::function<void()>> pending;
  for (const auto& tensor : tensors) pending.push_back(start_all_reduce_sum(tensor));
  for (const auto& wait_for : pending) wait_for();
}

void ProcessGroup::barrier() {
  guarded(*impl_, "barrier", [&] { wait(*impl_, impl_->group->barrier(c10d::BarrierOptions())); });
}

}  // namespace lunar::dist
