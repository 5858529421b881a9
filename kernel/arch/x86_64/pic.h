#pragma once
#include "../../types.h"
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask(unsigned irq);
bool pic_irq(unsigned irq);     /* vectors 32..47: EOI; false if spurious */
