#include "cache/metadata_cache.h"
