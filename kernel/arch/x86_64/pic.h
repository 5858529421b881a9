#pragma once
#include "../../types.h"
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask(unsigned irq);
void pic_irq(unsigned irq);     /* called for vectors 32..47 */
