/* jsonpath_eval.c: placeholder. Licence: MIT (see LICENSE). */
#include "arazzo.h"
typedef int arazzo_jsonpath_eval_placeholder;
