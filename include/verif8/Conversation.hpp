// Conversation: what the module says to, and asks of, the person logging in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "verif8/SecretString.hpp"

namespace verif8 {

class Conversation {
public:
    virtual ~Conversation() = default;
    // Asks with echo off. nullopt when the conversation failed or the user aborted (Ctrl-D).
    virtual std::optional<SecretString> askSecret(const std::string& prompt) = 0;
    virtual void error(const std::string& text) = 0;
    // A notice that needs no answer (sshd shows it only with the next prompt).
    virtual void info(const std::string& /*text*/) {}
    // Whether `answer` is the login's password (PAM_AUTHTOK or PAM_OLDAUTHTOK): sshd's
    // "password" method, dovecot, vsftpd and others answer every prompt with it, and a password
    // must never travel to the API as a code (threat-model rule 8).
    virtual bool isLoginPassword(std::string_view /*answer*/) const { return false; }
};

}  // namespace verif8
