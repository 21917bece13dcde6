// What every forward iterator over a parsed buffer repeats: the typedefs the iterator
// concepts read (std::forward_iterator, for the ranges algorithms and range-for) and the
// post-increment, written once. `Derived` (CRTP) defines operator*, the pre-increment and
// operator==, and brings this operator++ into scope (`using ForwardIteratorBase::operator++`),
// since its own pre-increment hides it.
#pragma once

#include <cstddef>

namespace pytcp {

template <typename Derived, typename Value>
class ForwardIteratorBase {
 public:
  using value_type = Value;
  using difference_type = std::ptrdiff_t;

  Derived operator++(int) {
    Derived before = static_cast<Derived&>(*this);
    ++static_cast<Derived&>(*this);
    return before;
  }
};

}  // namespace pytcp
