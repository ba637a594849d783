#include "sim/dasd/eckd3390.h"
#include <gtest/gtest.h>
TEST(Placeholder, X) {}
