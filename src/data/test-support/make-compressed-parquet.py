"""Writes the gzip and zstd parquet fixtures in src/data/test-support/parquet/.

They have the Hugging Face layout of flaviagiammarino/path-vqa (image struct
{bytes, path}, question, answer), written by pyarrow with a codec other than
snappy, as polars and some re-uploads produce. hyparquet-writer cannot write
zstd without a compressor, and Node 20 has no zstd encoder, so the fixtures are
committed. Regenerate with:

    python3 -m pip install pyarrow   # 25.0.1 was used
    python3 src/data/test-support/make-compressed-parquet.py
"""
import os
import struct
import zlib

import pyarrow as pa
import pyarrow.parquet as pq


def png(rgb, width=4, height=3):
    """A tiny RGB PNG, built with zlib only."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b''.join(b'\x00' + bytes(rgb) * width for _ in range(height))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'parquet')
os.makedirs(here, exist_ok=True)
image_type = pa.struct([('bytes', pa.binary()), ('path', pa.string())])
table = pa.table({
    'image': pa.array([{'bytes': png((200, 10, 10)), 'path': None}, {'bytes': png((10, 200, 10)), 'path': 'img/train_7.png'}], type=image_type),
    'question': ['what is present?', 'what stain is used?'],
    'answer': ['necrosis', 'h&e'],
})
for codec in ('gzip', 'zstd'):
    pq.write_table(table, os.path.join(here, f'train-00000-of-00001-{codec}.parquet'), compression=codec)
