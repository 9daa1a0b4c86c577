// SecretString: a string for codes, API keys and anything else that must not outlive its use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace verif8 {

// Owns its characters and wipes them (explicit_bzero) when it is destroyed, assigned over or
// cleared. The buffer is allocated once with room to spare so that appends do not reallocate and
// leave unwiped copies behind in freed memory.
class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string_view text);
    SecretString(const SecretString& other);
    SecretString(SecretString&& other) noexcept;
    SecretString& operator=(const SecretString& other);
    SecretString& operator=(SecretString&& other) noexcept;
    ~SecretString();

    void assign(std::string_view text);
    void append(std::string_view text);
    void clear();

    std::string_view view() const { return value_; }
    const char* c_str() const { return value_.c_str(); }
    std::size_t size() const { return value_.size(); }
    bool empty() const { return value_.empty(); }

private:
    void wipe();
    void reserveFor(std::size_t length);

    std::string value_;
};

// Overwrites a buffer in a way the compiler may not optimise away.
void wipeMemory(void* data, std::size_t length);

}  // namespace verif8
