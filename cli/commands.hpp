// The `nougat` subcommands. Each takes the full argv and the index of its
// first own argument, and returns the process exit status.
#pragma once

namespace nougat::cli {

int cmd_serve(int argc, char** argv, int first);
int cmd_config(int argc, char** argv, int first);
int cmd_user(int argc, char** argv, int first);
int cmd_bayes(int argc, char** argv, int first);
int cmd_filter(int argc, char** argv, int first);
int cmd_scan(int argc, char** argv, int first);
int cmd_queue(int argc, char** argv, int first);

}  // namespace nougat::cli
