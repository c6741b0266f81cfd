//===- Grid.h - Default coordinates of a lat-lon grid -----------*- C++ -*-===//
//
// defaultLatitudes/defaultLongitudes live in the public, header-only
// s2s/runtime/GridCoordinates.h, which the compiler's graph shapes use too.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_GRID_H
#define S2S_RUNTIME_SUPPORT_GRID_H

#include "s2s/runtime/GridCoordinates.h"

#endif // S2S_RUNTIME_SUPPORT_GRID_H
