#include "csys.h"

#include <stdio.h>

void csys_line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
