// Conversation: what the module says to, and asks of, the person logging in.
#pragma once

#include <optional>
#include <string>

#include "verif8/SecretString.hpp"

namespace verif8 {

class Conversation {
public:
    virtual ~Conversation() = default;
    // Asks with echo off. nullopt when the conversation failed or the user aborted (Ctrl-D).
    virtual std::optional<SecretString> askSecret(const std::string& prompt) = 0;
    virtual void error(const std::string& text) = 0;
};

}  // namespace verif8
