/* expr_eval.c: placeholder. Licence: MIT (see LICENSE). */
#include "arazzo.h"
typedef int arazzo_expr_eval_placeholder;
