#pragma once
#include "low/low.hpp"
inline int high() { return low() + 1; }
