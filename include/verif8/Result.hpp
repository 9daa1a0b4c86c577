// Result: the one error style of the project. A call that can fail returns Result<T> (a value or
// a Problem), or Result<> when there is nothing to return; a call whose callers branch on more
// than "worked or not" returns an enum of its own with a Problem beside it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace verif8 {

// What went wrong, in words for the administrator: it names the file, key or line, never a
// secret. Callers that add context wrap it (`Problem(path + ": " + inner.text)`).
struct Problem {
    std::string text;

    explicit Problem(std::string what) : text(std::move(what)) {}
};

// Stands for "no value" in Result<>.
struct Done {};

template <typename T = Done>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
    Result(Problem problem) : state_(std::move(problem)) {}  // NOLINT: implicit by design

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    // Only when ok(): the value.
    const T& value() const& { return std::get<0>(state_); }
    T& value() & { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }

    // Only when !ok(): what went wrong.
    const Problem& problem() const { return std::get<1>(state_); }

private:
    std::variant<T, Problem> state_;
};

// Result<> for a call with nothing to return: `return succeeded();` or `return Problem(...)`.
inline Result<> succeeded() {
    return Result<>(Done{});
}

}  // namespace verif8
