// UniqueFunction<R(Args...), N>: a move-only std::function with N bytes of inline storage, for
// the executor's tasks and the engine's callbacks (Seastar's noncopyable_function shape).
//
// A callable that fits in N bytes and moves without throwing lives inside the object: making,
// moving, calling and destroying it touch no heap. A larger one is boxed on the heap, exactly as
// std::function would do. Move-only, so a callback may own what it captures (a unique_ptr, a
// moved vector) and nobody copies it by accident.
//
// The default N (48 bytes) holds a lambda that captures `this`, a handle and a few ids or a
// std::string by value; the object is N + 8 bytes (56).
//
//   UniqueFunction<void()> task = [this, id] { on_due(id); };   // no allocation
//   task();
#ifndef CHAKONG_BASE_FUNCTION_H_
#define CHAKONG_BASE_FUNCTION_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace chakong {

template <typename Signature, size_t N = 48>
class UniqueFunction;

template <typename R, typename... Args, size_t N>
class UniqueFunction<R(Args...), N> {
 public:
  UniqueFunction() noexcept = default;
  UniqueFunction(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  template <typename F, typename D = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<D, UniqueFunction> &&
                                        std::is_invocable_r_v<R, D&, Args...>>>
  UniqueFunction(F&& f) {  // NOLINT(google-explicit-constructor): as std::function.
    // A null function pointer makes an empty function, as with std::function (a function
    // reference, which decays to a pointer too, is never null).
    using Plain = std::remove_cvref_t<F>;
    if constexpr (std::is_pointer_v<Plain> || std::is_member_pointer_v<Plain>) {
      if (f == nullptr) return;
    }
    if constexpr (kInline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
      ops_ = &kBoxedOps<D>;
    }
  }

  UniqueFunction(UniqueFunction&& other) noexcept { take(other); }
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  UniqueFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // Calls the target; throws std::bad_function_call when empty, as std::function does.
  R operator()(Args... args) const {
    if (ops_ == nullptr) throw std::bad_function_call();
    return ops_->call(const_cast<unsigned char*>(storage_), std::forward<Args>(args)...);
  }

  // True when the target lives in the inline storage (for tests and benchmarks).
  bool is_inline() const noexcept { return ops_ != nullptr && ops_->inline_storage; }

 private:
  struct Ops {
    R (*call)(void* storage, Args&&... args);
    // Moves the target from `from` into the empty `to` and destroys what is left in `from`.
    void (*relocate)(void* to, void* from) noexcept;
    void (*destroy)(void* storage) noexcept;
    bool inline_storage;
  };

  static constexpr size_t kAlign = alignof(void*);

  template <typename D>
  static constexpr bool kInline = sizeof(D) <= N &&
                                  alignof(D) <= kAlign&& std::is_nothrow_move_constructible_v<D>;

  template <typename D>
  static constexpr Ops kInlineOps = {
      [](void* s, Args&&... args) -> R {
        return std::invoke(*static_cast<D*>(s), std::forward<Args>(args)...);
      },
      [](void* to, void* from) noexcept {
        D* f = static_cast<D*>(from);
        ::new (to) D(std::move(*f));
        f->~D();
      },
      [](void* s) noexcept { static_cast<D*>(s)->~D(); },
      true,
  };

  template <typename D>
  static constexpr Ops kBoxedOps = {
      [](void* s, Args&&... args) -> R {
        return std::invoke(**static_cast<D**>(s), std::forward<Args>(args)...);
      },
      [](void* to, void* from) noexcept { *static_cast<D**>(to) = *static_cast<D**>(from); },
      [](void* s) noexcept { delete *static_cast<D**>(s); },
      false,
  };

  void take(UniqueFunction& other) noexcept {
    ops_ = other.ops_;
    if (ops_ != nullptr) {
      ops_->relocate(storage_, other.storage_);
      other.ops_ = nullptr;
    }
  }

  void reset() noexcept {
    if (ops_ != nullptr) {
      const Ops* ops = ops_;
      ops_ = nullptr;
      ops->destroy(storage_);
    }
  }

  static_assert(N >= sizeof(void*), "the inline storage must hold at least a pointer");
  alignas(kAlign) unsigned char storage_[N];
  const Ops* ops_ = nullptr;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_FUNCTION_H_
