// SecretString: wiping storage for secrets.
#include "verif8/SecretString.hpp"

#include <string.h>

#include <algorithm>

namespace verif8 {

namespace {
// Codes, keys and URLs are short; reserving this much up front means most secrets never move.
constexpr std::size_t kInitialCapacity = 128;
}  // namespace

void wipeMemory(void* data, std::size_t length) {
    if (data != nullptr && length > 0)
        explicit_bzero(data, length);
}

SecretString::SecretString(std::string_view text) {
    assign(text);
}

SecretString::SecretString(const SecretString& other) {
    assign(other.view());
}

SecretString::SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {
    // A moved-from std::string may keep a small-string buffer holding the secret.
    other.wipe();
}

SecretString& SecretString::operator=(const SecretString& other) {
    if (this != &other)
        assign(other.view());
    return *this;
}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

SecretString::~SecretString() {
    wipe();
}

void SecretString::wipe() {
    // Wipe the whole capacity: earlier, longer contents may linger past size().
    value_.resize(value_.capacity());
    wipeMemory(value_.data(), value_.size());
    value_.clear();
}

void SecretString::reserveFor(std::size_t length) {
    if (length <= value_.capacity())
        return;
    std::string bigger;
    bigger.reserve(std::max(length, std::max(kInitialCapacity, 2 * value_.capacity())));
    bigger.assign(value_);
    wipe();
    value_.swap(bigger);
}

void SecretString::assign(std::string_view text) {
    if (text.data() >= value_.data() && text.data() < value_.data() + value_.capacity()) {
        // A view into our own buffer would be wiped before it is copied.
        SecretString copy(text);
        *this = std::move(copy);
        return;
    }
    wipe();
    reserveFor(text.size());
    value_.assign(text.data(), text.size());
}

void SecretString::append(std::string_view text) {
    reserveFor(value_.size() + text.size());
    value_.append(text.data(), text.size());
}

void SecretString::clear() {
    wipe();
}

}  // namespace verif8
