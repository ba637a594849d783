// ccwctl: flags and wiring only; the commands live in the //ctl libraries.
#include <iostream>
#include <string>
#include <vector>

#include "ctl/cli.h"

int main(int argc, char** argv) {
  return ccwpass::ctl::RunCcwctl(std::vector<std::string>(argv, argv + argc), std::cout, std::cerr);
}
