// Account: what NSS says of a user (existence, groups), as the module and verif8ctl need it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace verif8 {

bool userExists(const std::string& user);

// The account a login name stands for. NSS may answer other spellings for one account (SSSD and
// AD match names in any case: "ALICE" is alice), and a second passwd line may share an account's
// uid: the canonical name is the one the uid maps back to, so every spelling gets the same
// enrolment, exemptions, limits and log name.
struct Account {
    std::string name;  // canonical: the name getpwuid gives for the uid
    uid_t uid = 0;
    gid_t gid = 0;
};

// nullopt when `user` names no account, or its uid maps back to no name.
std::optional<Account> resolveAccount(const std::string& user);

// Names of every group the user is in, primary included (through NSS, so directory groups
// count). nullopt when any of it cannot be looked up: a group that cannot be named might be the
// one a rule is about.
std::optional<std::vector<std::string>> groupsOf(const std::string& user);

}  // namespace verif8
