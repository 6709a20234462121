#!/usr/bin/env python3
"""Generates src/synth_tables.h from the real pieces in shared/data/real.
Usage: /usr/bin/python3 tools/gen_synth_tables.py src/synth_tables.h
Run once; the header is committed, the generator never reads these files."""
import csv, collections, json, os, random, re, sys

REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'real')
OUT = sys.argv[1]
rng = random.Random(20160501)

stats = json.load(open(f'{REAL}/stats.json'))

# ---- per-gender age histograms of the real train labels
ages = {'F': [0] * 97, 'M': [0] * 97}
for row in list(csv.reader(open(f'{REAL}/gender_age_train.csv')))[1:]:
    ages[row[1]][int(row[2])] += 1

# ---- phones: the course subset, with its rewritten brands put back
bm = collections.defaultdict(collections.Counter)
for row in list(csv.reader(open(f'{REAL}/phone_brand_device_model.altered_subset.csv')))[1:]:
    bm[row[1]][row[2]] += 1

def is_xiaomi(m):
    return m.startswith(('红米', 'MI ', '小米', 'note顶配版'))

SAMSUNG_RE = re.compile(r'^(Galaxy|2016版 Galaxy|SM-|GT-|SCH-|SHV-|Nexus S|三星)|^[GIBWN]\d{3,4}[A-Z]?[A-Z]?$|^S[57]\d{3}I?$')

models = collections.defaultdict(collections.Counter)
for brand, cnt in bm.items():
    for m, c in cnt.items():
        b = brand
        if brand == '小米' and not is_xiaomi(m):
            b = '金立'
        elif brand == '三星' and not SAMSUNG_RE.search(m):
            b = '联想'
        elif brand == 'vivo' and (m.startswith('Xperia') or m == 'X10i'):
            b = '索尼'
        elif brand == '联想 ':
            b = '中兴'
        models[b][m] += c
# the trailing-space twin of 联想 carries a handful of Lenovo's own models
for m, _ in models['联想'].most_common(14):
    models['联想 '][m] = max(1, models['联想'][m] // 6)

EXTRA_BRANDS = {
    '小辣椒': ['X3', '红辣椒', '小辣椒4', 'LA2-S'], '宏碁': ['Liquid Z5', 'Liquid E2'], '戴尔': ['Venue 8'],
    '黑莓': ['Q10', 'Passport'], '夏普': ['SH837W', 'SH930W'], '天珑': ['T6'], '卓普': ['ZP980', 'ZP998'],
    '创维': ['S9'], '格力': ['格力手机1', '色界'], '大唐': ['S5'], '京瓷': ['KC-S701'],
}
for b, ms in EXTRA_BRANDS.items():
    for i, m in enumerate(ms):
        models[b][m] = 3 if i == 0 else 2

# invented long-tail models in each brand's naming style, so the full-size
# set shows about as many distinct model strings as the real one (1,599)
all_strings = set(m for b in models for m in models[b])
def invent(brand):
    r = rng
    pats = {
        '三星': lambda: r.choice(['SM-G', 'SM-N', 'GT-I', 'GT-S', 'SCH-I', 'SM-A']) + str(r.randint(1000, 9999)) + r.choice(['', 'V', 'W', 'D']),
        '华为': lambda: r.choice(['G', 'Y', 'C', 'H']) + str(r.randint(300, 899)) + r.choice(['-T00', '-U00', '-L01', '-C00', 'T', 'D', '']),
        '酷派': lambda: str(r.randint(5100, 9990)) + r.choice(['', 'A', 'D', 'S', 'L', 'T']),
        'vivo': lambda: r.choice(['Y', 'X', 'S']) + str(r.randint(11, 99)) + r.choice(['', 'L', 'T', 'W', 'iL']),
        'OPPO': lambda: r.choice(['R', 'A', 'U', 'N']) + str(r.randint(100, 8999)) + r.choice(['', 'T', 'S', 'W']),
        '联想': lambda: r.choice(['A', 'S', 'K', 'P']) + str(r.randint(100, 999)) + r.choice(['t', 'e', 'w', '']),
        '金立': lambda: 'GN' + str(r.randint(100, 9999)) + r.choice(['', 'L', 'T', 'W']),
        'HTC': lambda: r.choice(['T', 'D', 'X']) + str(r.randint(300, 999)) + r.choice(['t', 'w', 'd', 'e']),
        '中兴': lambda: r.choice(['U', 'Q', 'N', 'V', 'G']) + str(r.randint(700, 999)) + r.choice(['', 'T', 'C', 'U', 'D']),
        '魅族': lambda: 'M' + str(r.randint(10, 99)) + r.choice(['', 'C', 'Q']),
    }
    f = pats.get(brand, lambda: r.choice(['X', 'S', 'A', 'V', 'M', 'K', 'T']) + str(r.randint(1, 999)) + r.choice(['', 'S', 'L', ' Pro', ' Plus', 'C']))
    while True:
        s = f()
        if s not in all_strings:
            all_strings.add(s)
            return s
INVENT = [("三星", 30), ("华为", 20), ("酷派", 15), ("vivo", 12), ("OPPO", 12), ("联想", 18), ("金立", 12),
          ('HTC', 8), ('中兴', 15), ('魅族', 3)]
for b, n in INVENT:
    for _ in range(n):
        models[b][invent(b)] = rng.choice([1, 1, 2, 2, 3])
small = sorted(b for b in models if sum(models[b].values()) < 60 and b not in EXTRA_BRANDS)
for b in rng.sample(small, 10):
    models[b][invent(b)] = 1

# ---- brands: shares and male shares
top = {d['brand_zh']: d for d in stats['brands_top10']}
en = {'小米': 'Xiaomi', '三星': 'samsung', '华为': 'Huawei', 'OPPO': 'OPPO', 'vivo': 'vivo', '魅族': 'Meizu',
      '酷派': 'Coolpad', '联想': 'lenovo', '联想 ': 'lenovo', '金立': 'Gionee', 'HTC': 'HTC'}
for line in open(f'{REAL}/brand_translation.tsv').read().splitlines()[1:]:
    zh, e = line.split('\t')
    en.setdefault(zh, e)
en.update({k: v for k, v in {
    '中兴': 'ZTE', '索尼': 'sony', 'LG': 'LG', 'TCL': 'TCL', '奇酷': 'qiku', '酷比': 'kubi', 'ZUK': 'ZUK',
    '欧博信': 'obxin', '贝尔丰': 'bell', 'LOGO': 'LOGO', '亿通': 'yitong', '康佳': 'konka', '百立丰': 'bailifeng',
    '至尊宝': 'zhizunbao', 'Lovme': 'Lovme', '百加': 'baijia', '诺亚信': 'noain', '果米': 'guomi', '先锋': 'pioneer',
    '斐讯': 'phicomm', '大Q': 'daq', '青葱': 'qingcong', '长虹': 'changhong', 'SUGAR': 'SUGAR', '欧奇': 'ouki',
    '台电': 'teclast', '广信': 'kingsun', '白米': 'baimi', '蓝魔': 'ramos', '虾米': 'xiami', '金星数码': 'jxd',
    '奥克斯': 'aux', '惠普': 'hp', '飞利浦': 'philips', '智镁': 'zhimei', '宝捷讯': 'baojiexun', '优语': 'youyu',
    '欧乐迪': 'oulaidi', '本为': 'benwee', '首云': 'shouyun', '鲜米': 'xianmi', '唯比': 'weibi', 'PPTV': 'PPTV',
    '赛博宇华': 'sambo', 'E人E本': 'eben', '大显': 'daxian', '帷幄': 'weiwo', '世纪星': 'shijixing', 'MIL': 'MIL',
    '瑞米': 'ruimi', '瑞高': 'ruigao', '凯利通': 'kailitong', '欧沃': 'ouwo', '丰米': 'fengmi', '恒宇丰': 'hengyufeng',
    '西门子': 'siemens', '小辣椒': 'xiaolajiao', '宏碁': 'acer', '戴尔': 'dell', '黑莓': 'blackberry', '夏普': 'sharp',
    '天珑': 'tianlong', '卓普': 'zopo', '创维': 'skyworth', '格力': 'gree', '大唐': 'datang', '京瓷': 'kyocera',
}.items() if k not in en})

TWIN_SHARE = 0.002
top_share = sum(d['share'] for d in top.values())
tail = [b for b in models if b not in top and b != '联想 ']
tail_count = sum(sum(models[b].values()) for b in tail)
share = {b: d['share'] for b, d in top.items()}
share['联想 '] = TWIN_SHARE
for b in tail:
    share[b] = (1 - top_share - TWIN_SHARE) * sum(models[b].values()) / tail_count
male = {b: d['male_share'] for b, d in top.items()}
SPECIAL_MALE = {'美图': 0.25, '朵唯': 0.35, '一加': 0.85, '锤子': 0.80, '努比亚': 0.75, '乐视': 0.78, '中兴': 0.70,
                '索尼': 0.72, 'LG': 0.75, 'ZUK': 0.85, '华硕': 0.78, '摩托罗拉': 0.80, '中国移动': 0.62, '天语': 0.66,
                '联想 ': 0.668}
male.update(SPECIAL_MALE)
rest = [b for b in share if b not in male]
need = stats['labels']['male_share'] - sum(share[b] * male[b] for b in male)
default_male = need / sum(share[b] for b in rest)
for b in rest:
    male[b] = default_male

# planted age tilts (log-odds per 10 years of age), see synth.c
AGE_TILT = {'小米': -0.10, '三星': 0.20, '华为': 0.15, 'OPPO': -0.45, 'vivo': -0.45, '魅族': -0.15, '酷派': 0.10,
            '联想': 0.10, '联想 ': 0.10, '金立': 0.35, 'HTC': 0.05, '中兴': 0.30, '乐视': -0.10, '努比亚': -0.10,
            '一加': -0.20, '锤子': -0.10, '美图': -0.45, '中国移动': 0.30, '诺基亚': 0.30, '天语': 0.30, '朵唯': -0.05}
def hashnoise(s, sd):
    h = 0
    for ch in s.encode():
        h = (h * 131 + ch) % 1000003
    return sd * (((h * 7919) % 2001) / 1000.0 - 1.0) * 1.7

def model_tilts(b, m):
    age = hashnoise(b + '|' + m, 0.12)
    sex = hashnoise(m + '#' + b, 0.08)
    if m.startswith('红米'): age -= 0.35; sex -= 0.05
    elif m.startswith('MI '): sex += 0.15
    elif m.startswith('小米') or m == 'note顶配版': age += 0.1
    if m.startswith('Galaxy Note'): age += 0.30; sex += 0.10
    elif m.startswith('Galaxy S'): age += 0.10
    elif re.match(r'Galaxy (Grand|Trend|Win|Core|Mega|Ace|Style)', m): age += 0.35
    elif m.startswith('Galaxy A'): age -= 0.10; sex -= 0.10
    if m.startswith('荣耀'): age -= 0.25
    elif m.startswith('Mate'): age += 0.45; sex += 0.20
    elif m.startswith('Ascend'): age += 0.20
    elif b == '华为' and re.match(r'^[GYC]\d', m): age += 0.30
    if b == 'OPPO' and m.startswith(('R7', 'R9')): age -= 0.25; sex -= 0.15
    if b == 'vivo' and m.startswith(('X5', 'X6')): age -= 0.20; sex -= 0.15
    if b == 'vivo' and m.startswith('Y'): age += 0.05
    if m.startswith('魅蓝'): age -= 0.30; sex -= 0.05
    elif m.startswith('MX'): age += 0.10
    if m.startswith('大神'): age -= 0.10
    elif b == '酷派' and re.match(r'^\d', m): age += 0.35
    return age, sex

def cstr(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        else:
            out.append(ch)
    return '"' + ''.join(out) + '"'

brands = sorted(share, key=lambda b: -share[b])
lines = []
w = lines.append
w('/* Static tables of the synthetic data generator (src/synth.c).')
w(' *')
w(' * GENERATED ONCE by a throwaway script from the real pieces in')
w(' * shared/data/real (stats.json, gender_age_train.csv, brand_translation.tsv,')
w(' * the course\'s phone subset with its rewritten brands put back, and')
w(' * label_categories.csv); the generator never reads those files at run time.')
w(' *   - dg_synth_age_counts: the per-gender age histogram of the real train labels')
w(' *   - dg_synth_hour_counts / dg_synth_day_counts: event hour and weekday profile')
w(' *   - dg_synth_brands / dg_synth_models: brands (Chinese and English name, share,')
w(' *     male share, planted age tilt) and their models (relative weight, planted')
w(' *     age and sex tilts); model weights are the real subset counts, plus a few')
w(' *     invented long-tail models in each brand\'s naming style')
w(' *   - dg_synth_label_categories_csv: label_categories.csv, byte for byte */')
w('#ifndef DEMOGRAPHER_SYNTH_TABLES_H')
w('#define DEMOGRAPHER_SYNTH_TABLES_H')
w('')
w('#include <stdint.h>')
w('')
w('/* Real train label counts by gender (0 = F, 1 = M) and age 0..96. */')
w('static const uint32_t dg_synth_age_counts[2][97] = {')
for g in 'FM':
    vals = ages[g]
    w('    {' + ', '.join(str(v) for v in vals) + '},')
w('};')
w('')
w('/* Events per hour of the day (train devices, real). */')
w('static const double dg_synth_hour_counts[24] = {' + ', '.join(str(v) for v in stats['events']['hour_counts_train_events']) + '};')
wd = stats['events']['weekday_counts_train_events']
w('/* Events per day, 1 May (Sunday) to 7 May 2016 (Saturday) (real). */')
w('static const double dg_synth_day_counts[7] = {' + ', '.join(str(wd[d]) for d in ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']) + '};')
w('')
w('typedef struct dg_synth_brand {')
w('    const char *zh, *en;')
w('    double share, male, age_tilt;')
w('    uint32_t first_model, n_models;')
w('} dg_synth_brand;')
w('')
w('typedef struct dg_synth_model {')
w('    const char *name;')
w('    double weight, age_tilt, sex_tilt;')
w('} dg_synth_model;')
w('')
mlines = []
first = 0
blines = []
for b in brands:
    ms = sorted(models[b].items(), key=lambda kv: (-kv[1], kv[0]))
    for m, c in ms:
        a, s = model_tilts(b, m)
        mlines.append(f'    {{{cstr(m)}, {c}, {a:.3f}, {s:.3f}}},')
    tilt = AGE_TILT.get(b, hashnoise(b, 0.15))
    blines.append(f'    {{{cstr(b)}, {cstr(en[b])}, {share[b]:.8f}, {male[b]:.4f}, {tilt:.3f}, {first}, {len(ms)}}},')
    first += len(ms)
w(f'#define DG_SYNTH_N_BRANDS {len(brands)}')
w(f'#define DG_SYNTH_N_MODELS {first}')
w('static const dg_synth_brand dg_synth_brands[DG_SYNTH_N_BRANDS] = {')
lines.extend(blines)
w('};')
w('')
w('static const dg_synth_model dg_synth_models[DG_SYNTH_N_MODELS] = {')
lines.extend(mlines)
w('};')
w('')
w('/* The real label_categories.csv (930 categories), byte for byte. */')
w('static const char dg_synth_label_categories_csv[] =')
raw = open(f'{REAL}/label_categories.csv', 'rb').read().decode('utf-8')
for ln in raw.splitlines(keepends=True):
    w('    ' + cstr(ln))
w('    ;')
w('')
w('#endif')
open(OUT, 'w').write('\n'.join(lines) + '\n')
print(len(brands), 'brands', first, 'models', len(set(m for b in models for m in models[b])), 'strings', 'default male', round(default_male, 4), file=sys.stderr)
