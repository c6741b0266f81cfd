//===- Weights.cpp - A model's weights from and to PyTorch files ----------===//

#include "io/Weights.h"

#include "io/TorchFile.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "support/Text.h"

#include <cstdio>
#include <fstream>
#include <set>

namespace s2s::rt {

namespace {

/// The file's tensors, by its content: a zip archive is torch.save's.
NamedTensors readAny(const std::string &path, std::string &from) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read weights '" + path +
                "': no such file or no permission");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 &&
      magic[3] == 4) {
    std::string under;
    NamedTensors t = readTorchStateDict(path, &under);
    from = "PyTorch state dict '" + path + "'" +
           (under.empty() ? "" : " (its entry '" + under + "')");
    return t;
  }
  from = "safetensors file '" + path + "'";
  return readSafetensors(path).tensors;
}

/// Drops a prefix every name carries (DDP's `module.`, torch.compile's
/// `_orig_mod.`), repeatedly; returns what was dropped.
std::string dropCommonPrefix(NamedTensors &tensors) {
  std::string dropped;
  for (bool again = true; again && !tensors.empty();) {
    again = false;
    for (const char *prefix : {"module.", "_orig_mod."}) {
      const std::string p = prefix;
      bool all = true;
      for (const auto &nt : tensors)
        all = all && nt.first.rfind(p, 0) == 0;
      if (all) {
        for (auto &nt : tensors)
          nt.first.erase(0, p.size());
        dropped += p;
        again = true;
      }
    }
  }
  return dropped;
}

/// One item per line, indented.
std::string listOf(const std::vector<std::string> &items) {
  return "\n  " + join(items, "\n  ");
}

} // namespace

ImportedWeights importWeights(const std::string &path,
                              const std::vector<WeightSlot> &slots,
                              const NameMap &map, bool partial) {
  std::string from;
  NamedTensors file = readAny(path, from);
  const std::string dropped = dropCommonPrefix(file);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < file.size(); ++i)
    index[file[i].first] = i;

  ImportedWeights out;
  std::vector<std::string> misShaped;
  std::set<size_t> used;
  int64_t values = 0;
  for (const WeightSlot &slot : slots) {
    const NameMap::Target t = map.theirs(slot.name);
    auto it = index.find(t.name);
    if (it == index.end()) {
      out.missing.push_back(slot.name + " <- " + t.name + " " +
                            shapeStr(slot.shape));
      continue;
    }
    used.insert(it->second);
    torch::Tensor v = file[it->second].second;
    if (t.transpose && v.dim() != 2) {
      misShaped.push_back(slot.name + " <- " + t.name + ": the map " +
                          "transposes it, but it has shape " +
                          shapeStr(v.sizes()));
      continue;
    }
    if (t.transpose)
      v = v.t();
    if (v.sizes() != torch::IntArrayRef(slot.shape) ||
        !(v.is_floating_point())) {
      misShaped.push_back(
          slot.name + " " + shapeStr(slot.shape) + " <- " + t.name + " " +
          shapeStr(file[it->second].second.sizes()) +
          (t.transpose ? " transposed" : "") +
          (v.is_floating_point() ? "" : " (not floating point)"));
      continue;
    }
    values += v.numel();
    out.tensors.emplace_back(slot.name, v.contiguous());
  }
  std::vector<std::string> unused;
  size_t skipped = 0;
  for (size_t i = 0; i < file.size(); ++i) {
    if (used.count(i))
      continue;
    if (map.skipped(file[i].first))
      ++skipped;
    else
      unused.push_back(file[i].first + " " + shapeStr(file[i].second.sizes()));
  }

  const std::string where =
      from + " through " + map.origin() +
      (dropped.empty() ? "" : ", prefix '" + dropped + "' dropped");
  std::string problems;
  if (!misShaped.empty())
    problems += "\nshapes that differ (s2s <- file):" + listOf(misShaped);
  if (!out.missing.empty() && !partial)
    problems += "\ns2s parameters the file lacks (s2s <- looked for):" +
                listOf(out.missing);
  if (!unused.empty() && !partial)
    problems += "\nfile tensors no s2s parameter takes:" + listOf(unused);
  if (!problems.empty())
    throw Error("importing the " + where + ":" + problems +
                (misShaped.empty()
                     ? "\n(a name map (--map) renames and transposes; "
                       "--init-partial imports what matches)"
                     : "\n(a name map (--map) renames and transposes)"));
  out.summary = std::to_string(out.tensors.size()) + " tensors (" +
                std::to_string(values) + " values) from the " + where;
  if (!out.missing.empty())
    out.summary += "; " + std::to_string(out.missing.size()) +
                   " parameters not in the file keep their initial values";
  if (!unused.empty())
    out.summary +=
        "; " + std::to_string(unused.size()) + " file tensors unused";
  if (skipped)
    out.summary += "; " + std::to_string(skipped) +
                   " skipped as the map says (no s2s parameter takes them)";
  return out;
}

void writeWeights(const std::string &path, const NamedTensors &params,
                  const NameMap &map,
                  const std::map<std::string, std::string> &metadata) {
  NamedTensors out;
  std::set<std::string> names;
  for (const auto &[name, value] : params) {
    const NameMap::Target t = map.theirs(name);
    if (!names.insert(t.name).second)
      throw Error("exporting through " + map.origin() +
                  ": two parameters "
                  "map to '" +
                  t.name + "' (the second is " + name + ")");
    torch::Tensor v = value.detach().to(torch::kCPU);
    if (t.transpose && v.dim() != 2)
      throw Error("exporting through " + map.origin() + ": " + name + " " +
                  shapeStr(v.sizes()) +
                  " is not 2-d, but the map transposes "
                  "it");
    out.emplace_back(t.name, (t.transpose ? v.t() : v).contiguous());
  }
  if (endsWith(path, ".safetensors"))
    writeSafetensors(path, out, metadata);
  else if (endsWith(path, ".pt") || endsWith(path, ".pth"))
    writeTorchStateDict(path, out);
  else
    throw Error("weights file '" + path +
                "': the extension says the format; "
                "use .safetensors, .pt or .pth");
}

} // namespace s2s::rt
