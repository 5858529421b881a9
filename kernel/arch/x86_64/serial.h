#pragma once
#include "../../types.h"
void serial_init(void);
void serial_write(const char *s, size_t n);
