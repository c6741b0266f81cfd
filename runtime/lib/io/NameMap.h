//===- NameMap.h - s2s's parameter names in another framework --*- C++ -*-===//
//
// Weights come from and go to PyTorch implementations whose names and
// layouts are not s2s's. A name map says, one rule per line, which tensor
// of the other side each s2s parameter is:
//
//   # s2s name                           other name                 layout
//   AFNOBlock.{i}.layer_norm.0.{p}       blocks.{i}.norm1.{p}
//   AFNOBlock.{i}.Mlp.0.linear.0.weight  blocks.{i}.mlp.fc1.weight  transpose
//
//   -                                    norm.*      # never applied
//
// `{x}` matches one or more characters other than '.', `*` any rest of the
// name (dots included); the other name may use the s2s name's captures.
// A rule whose s2s name is `-` names tensors of the other side that no s2s
// parameter takes (an import skips them rather than failing).
// `transpose` swaps a 2-d tensor's axes: s2s's linear stores its weight
// [in, out], torch.nn.Linear [out, in]. The first rule that matches wins; a
// name no rule matches keeps its name and layout. Built-in maps are named
// (`fourcastnet`); anything else is a file.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_NAMEMAP_H
#define S2S_RUNTIME_IO_NAMEMAP_H

#include <string>
#include <vector>

namespace s2s::rt {

class NameMap {
public:
  /// The identity: every name and layout as s2s's.
  NameMap() = default;

  /// Rules from `text`; `origin` ("file.map", "built-in map 'x'") names
  /// where they come from in messages. Throws Error naming origin:line on
  /// a malformed rule (a third word that is not `transpose`, a capture the
  /// s2s side does not have, an empty pattern).
  static NameMap parse(const std::string &text, const std::string &origin);

  /// "" the identity, a built-in map's name, or a map file (Error naming
  /// the file when it cannot be read).
  static NameMap load(const std::string &nameOrFile);

  /// The built-in maps' names.
  static std::vector<std::string> builtins();

  struct Target {
    std::string name;
    bool transpose = false;
  };
  /// The other side's tensor for s2s parameter `ours`.
  Target theirs(const std::string &ours) const;

  /// Whether the other side's tensor `theirs` is one a `-` rule skips.
  bool skipped(const std::string &theirs) const;

  const std::string &origin() const { return origin_; }
  bool identity() const { return rules_.empty() && skipped_.empty(); }

private:
  struct Rule {
    std::string ours, theirs;
    bool transpose = false;
  };
  std::vector<Rule> rules_;
  std::vector<std::string> skipped_; ///< `-` rules' patterns
  std::string origin_ = "no name map";
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_NAMEMAP_H
