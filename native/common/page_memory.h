// Memory mapped straight from the kernel, for buffers whose owner wants to give the pages back at a
// moment it chooses (the trickle server's segment slabs): malloc keeps what it frees for itself, so
// the RSS of a process that once held many slabs stays at that high-water mark; a discarded page
// range here leaves the RSS at once and reads as zeros when touched again. Thread-safe (plain
// system calls); no N-API.
#pragma once

#include <cstddef>

namespace trickle {

// The system page size (the unit of MapPages and DiscardPages).
size_t PageSize();

// Maps `bytes` (a positive multiple of PageSize()) of private, zero-filled, read-write memory.
// Returns nullptr when the kernel refuses (errno says why).
void* MapPages(size_t bytes);

// Unmaps what MapPages returned.
void UnmapPages(void* base, size_t bytes);

// Gives the pages of [base, base + bytes) back to the kernel (both page-aligned); the range stays
// mapped and reads as zeros until written again. False (errno set) when the kernel refuses.
bool DiscardPages(void* base, size_t bytes);

}  // namespace trickle
