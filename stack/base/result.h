// Result<T, E>: a value or a small error enum, for the packet path where failures are
// common, cheap and must not allocate (absl::Status is used for setup and configuration).
// Result<void, E> is success that carries nothing (`return Ok();`) or the error.
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace pytcp {

template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

// The success of a Result<void, E>.
struct Ok {};

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Err<E> e) : v_(std::in_place_index<1>, e.error) {}          // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  E error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result(Ok) {}                          // NOLINT: implicit by design
  Result(Err<E> e) : error_(e.error) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  E error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<E> error_;
};

}  // namespace pytcp
