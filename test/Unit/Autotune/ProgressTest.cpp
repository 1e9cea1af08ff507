//===- ProgressTest.cpp - proteus-tune's progress bar ---------------------===//

#include "proteus/Autotune/Progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

using namespace proteus_tune;

namespace {

std::string readAll(std::FILE *f) {
  std::rewind(f);
  std::string text;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  return text;
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(59.4), "59s");
  EXPECT_EQ(formatDuration(59.6), "1m00s");
  EXPECT_EQ(formatDuration(185), "3m05s");
  EXPECT_EQ(formatDuration(3720), "1h02m");
  EXPECT_EQ(formatDuration(-3), "0s");
}

TEST(Progress, RendersBarCountAndEta) {
  std::FILE *f = std::tmpfile();
  ASSERT_TRUE(f);
  Progress p("measure", 4, f, /*tty=*/false);
  EXPECT_EQ(p.render("", 0.0),
            "measure [                        ] 0/4   0%  0s, ETA ?");
  p.step("first");
  // One of four steps took 10 s: three more take about 30 s.
  EXPECT_EQ(p.render("first", 10.0),
            "measure [======>                 ] 1/4  25%  10s, ETA 30s  first");
  p.step("rest", 3);
  EXPECT_EQ(p.render("", 40.0),
            "measure [========================] 4/4 100%  40s, ETA 0s");
  std::fclose(f);
}

TEST(Progress, WritesOneLinePerStepWithoutATerminal) {
  std::FILE *f = std::tmpfile();
  ASSERT_TRUE(f);
  Progress p("generate", 2, f, /*tty=*/false);
  p.step("a");
  p.step("b");
  p.finish("2 variants compiled");
  std::string text = readAll(f);
  EXPECT_NE(text.find("generate [============>           ] 1/2  50%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  a\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  b\n"), std::string::npos) << text;
  EXPECT_NE(text.find("generate: 2 variants compiled in 0s\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  std::fclose(f);
}

TEST(Progress, RedrawsInPlaceOnATerminal) {
  std::FILE *f = std::tmpfile();
  ASSERT_TRUE(f);
  Progress p("measure", 3, f, /*tty=*/true);
  p.step("x");
  p.step("y");
  p.finish("done");
  std::string text = readAll(f);
  EXPECT_EQ(text.rfind("\r\033[Kmeasure [", 0), 0u) << text;
  // No newline until the end: the bar stays on one line.
  EXPECT_EQ(text.find('\n'), text.find("\nmeasure: done"));
  std::fclose(f);
}

TEST(Progress, ZeroStepsStillRenders) {
  std::FILE *f = std::tmpfile();
  ASSERT_TRUE(f);
  Progress p("measure", 0, f, /*tty=*/false);
  EXPECT_EQ(p.render("", 1.0),
            "measure [                        ] 0/1   0%  1s, ETA ?");
  std::fclose(f);
}

} // namespace
