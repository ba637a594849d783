#include "ctl/text_table.h"

#include <gtest/gtest.h>

namespace ccwpass::ctl {
namespace {

TEST(TextTableTest, ColumnsArePaddedToTheWidestCellAndNotesStandAlone) {
  TextTable t({"INDEX", "NAME", "PREVIEW"});
  t.AddNote("chain 0 at 0x1000");
  t.AddRow({"0", "SENSE ID", "-"});
  t.AddRow({"12", "-", "→ ccw 0 (0x1000)"});
  EXPECT_EQ(t.Render(),
            "INDEX  NAME      PREVIEW\n"
            "chain 0 at 0x1000\n"
            "0      SENSE ID  -\n"
            "12     -         → ccw 0 (0x1000)\n");
}

TEST(TextTableTest, WidthCountsCodePointsAndNoLineEndsInSpaces) {
  TextTable t({"A", "B"});
  t.AddRow({"→→", ""});
  t.AddRow({"x"});  // a missing cell prints empty
  EXPECT_EQ(t.Render(),
            "A   B\n"
            "→→\n"
            "x\n");
}

}  // namespace
}  // namespace ccwpass::ctl
