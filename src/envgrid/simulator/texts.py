"""Chinese text a citizen or a grid member would write: descriptions per category, names, phone numbers,
identity card numbers, key supervised entities. Templates have slots filled from small vocabularies.
"""

from __future__ import annotations

import random
import string

from envgrid.simulator.rand import pick, randint

_SLOTS: dict[str, tuple[str, ...]] = {
    "site": ("小区旁的工地", "学校边上的工地", "地铁施工点", "安置房工地", "道路改造工地", "商业综合体工地",
             "拆迁现场", "厂房扩建工地"),
    "time": ("凌晨一点多", "半夜十二点后", "晚上十点以后", "早上五点", "中午午休时间", "周末一整天",
             "每天傍晚", "最近一周每晚"),
    "smell": ("刺鼻的化学味", "臭鸡蛋味", "塑料烧焦的味道", "酸臭味", "浓烈的油漆味", "腥臭味"),
    "colour": ("发黑", "发黄", "乳白色", "红褐色", "墨绿色", "泛着油花"),
    "water": ("河道", "塘河", "溪流", "沟渠", "水库边", "温瑞塘河支流"),
    "factory": ("电镀厂", "印染厂", "皮革厂", "化工厂", "造纸厂", "小作坊", "鞋厂", "阀门厂"),
    "animal": ("养猪场", "养鸡场", "养鸭场", "牛蛙养殖场", "生猪养殖户"),
    "waste": ("建筑垃圾", "生活垃圾", "废旧轮胎", "工业边角料", "废油桶", "污泥"),
    "crop": ("秸秆", "稻草", "果树枝", "菜地杂草"),
    "sea": ("海滩", "养殖塘口", "渔港", "近岸海域"),
}

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "construction_dust": (
        "{site}渣土车未覆盖，扬尘严重，路面全是泥", "{site}裸土没有覆盖，风一吹灰尘漫天",
        "{site}没有洒水降尘，{time}灰特别大，窗户都不敢开", "渣土车从{site}出来带泥上路，扬尘污染严重",
    ),
    "construction_noise": (
        "{site}{time}还在施工，噪音扰民，无法休息", "{site}夜间打桩，声音很大，{time}都没停",
        "{site}{time}混凝土泵车作业，噪音扰民", "{site}切割钢筋声音刺耳，{time}影响居民休息",
    ),
    "garbage_burning": (
        "有人露天焚烧{waste}，浓烟很大，有{smell}", "{time}有人在空地上焚烧{waste}，黑烟滚滚",
        "露天焚烧垃圾浓烟，{smell}飘进小区", "垃圾堆被点燃，{time}还在冒烟，气味难闻",
    ),
    "agricultural_waste_burning": (
        "田里焚烧{crop}，烟雾很大，影响视线", "农户{time}焚烧{crop}，浓烟飘到村里",
        "大片{crop}被点火焚烧，空气中有烧焦味", "山脚下焚烧{crop}，烟很大，担心引发山火",
    ),
    "livestock_poultry_pollution": (
        "{animal}粪污直排{water}，{water}{colour}发臭", "{animal}臭气熏天，{time}味道最重",
        "{animal}污水未经处理流进{water}，有{smell}", "{animal}粪便乱堆，苍蝇很多，下雨就流进{water}",
    ),
    "water_pollution": (
        "{water}发黑发臭，水面有死鱼", "{water}水体{colour}，有{smell}", "{water}漂浮大量垃圾，水质很差",
        "有管子往{water}里排污水，水{colour}",
    ),
    "air_pollution": (
        "附近{factory}排放废气，有{smell}，{time}最严重", "烟囱冒黑烟，空气里有{smell}",
        "{factory}废气直排，{time}整个小区都是{smell}", "餐馆油烟直排，有{smell}，楼上住户受影响",
    ),
    "solid_waste": (
        "有人在路边倾倒{waste}，堆得很高", "{water}边堆放大量{waste}，无人清理",
        "夜里有车偷倒{waste}，{time}经常来", "空地上堆满{waste}，散发{smell}",
    ),
    "hazardous_waste": (
        "{factory}把废液桶随意堆放在露天，有{smell}", "发现一批废油桶倾倒在{water}边，疑似危险废物",
        "{factory}危废仓库没有防渗，地面{colour}", "有人收购{factory}废酸，私下倾倒",
    ),
    "marine_pollution": (
        "{sea}出现大面积油污，海水{colour}", "{sea}堆满垃圾，退潮后气味难闻",
        "养殖尾水直排{sea}，海水{colour}", "{sea}有船只偷排含油污水",
    ),
    "forestry_damage": (
        "山上有人乱砍滥伐，林地被毁", "有人毁林开荒种茶，山体裸露", "林地被非法占用堆放{waste}",
        "有人在生态公益林里挖土取石",
    ),
    "enterprise_discharge": (
        "{factory}偷排废水，{water}{colour}", "{factory}{time}偷偷排污，有{smell}",
        "{factory}通过暗管排放污水到{water}", "{factory}治污设施不运行，废水直排",
    ),
    "environmental_crime": (
        "{factory}通过渗井偷排含重金属废水，{water}{colour}", "有人跨区倾倒大量{waste}和废液，疑似犯罪",
        "{factory}篡改在线监测数据，{time}偷排", "有团伙非法处置{factory}危险废物，倒进{water}",
    ),
    "noise_industrial": (
        "{factory}机器{time}轰鸣，噪音很大", "{factory}冲床声音太响，{time}也不停", "{factory}风机噪声扰民，{time}最吵",
    ),
    "odor": (
        "空气中有{smell}，{time}特别明显", "附近{factory}散发{smell}，头晕恶心", "小区里一直闻到{smell}，不知道哪里来的",
    ),
    "illegal_sand_mining": (
        "{water}里有船{time}偷偷采砂", "有人在{water}非法挖砂，河岸塌了", "采砂船{time}作业，{water}变得{colour}",
    ),
    "catering_fumes": (
        "楼下饭店油烟直排，有{smell}", "烧烤摊{time}油烟很大，窗户都不能开", "餐馆没装油烟净化器，油烟熏到楼上",
    ),
    "vehicle_emissions": (
        "渣土车冒黑烟，尾气很呛", "有货车{time}冒黑烟跑来跑去", "公交场站车辆怠速排黑烟，有{smell}",
    ),
    "medical_waste": (
        "诊所把针头、输液袋混在生活垃圾里扔", "{water}边发现医疗废物，有针筒", "卫生院医疗垃圾露天堆放",
    ),
    "fuel_vapor_recovery": (
        "加油站油气味很重，{time}特别明显", "加油站油气回收装置好像没开，一股汽油味", "加油站卸油时气味刺鼻",
    ),
}
_GENERIC = ("发现环境问题，{time}很严重，请尽快处理", "{site}附近有污染，气味难闻，希望有关部门来看看")
_PATROL_PREFIX = ("巡查发现：", "网格巡查中发现", "日常巡查时发现", "")
_PATROL_SUFFIX_STOPPED = ("，已当场制止", "，已劝导停止", "，已责令整改并拍照留存")
_PATROL_SUFFIX_OPEN = ("，现场无法处理，请求上级处理", "，当事人拒不整改", "，需相关部门执法", "")

_SURNAMES = (
    "陈", "林", "黄", "王", "李", "张", "郑", "吴", "周", "金", "徐", "潘", "叶", "朱", "胡", "杨", "赵", "蔡",
    "谢", "董", "薛", "章", "应", "卢", "戴", "余", "池", "项", "厉", "翁", "孙", "刘", "季", "施", "苏", "麻",
)
_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
    "华", "慧", "建国", "志强", "晓东", "海燕", "春华", "国平", "文斌", "丽萍", "雪", "婷", "建华", "小红",
    "思远", "宇轩", "梓涵", "浩然", "欣怡", "佳琪", "德胜", "乐乐", "海波", "益明", "素珍",
)
_PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "186", "187", "188", "189",
    "198", "199",
)
_DISTRICT_ID_PREFIXES = ("330302", "330303", "330304", "330305", "330324", "330326", "330327", "330328",
                         "330329", "330381", "330382", "330383")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ENTITY_PREFIX = ("温州", "浙江", "瑞安市", "乐清市", "永嘉", "平阳", "苍南")
_ENTITY_WORD = ("宏达", "华盛", "永兴", "东方", "鑫源", "瓯江", "恒力", "金马", "新联", "正泰")
_ENTITY_KIND = ("电镀有限公司", "化工有限公司", "印染有限公司", "皮革有限公司", "热电有限公司",
                "污水处理厂", "固废处置有限公司", "合成革有限公司")


def description(category: str, rng: random.Random, *, patrol: bool = False, stopped: bool = False) -> str:
    """A plausible Chinese description of an incident of `category`."""
    template, slots = pick(rng, _PARSED.get(category, _PARSED_GENERIC))
    # The same slot twice in a template reads the same word.
    text = template.format_map({slot: pick(rng, _SLOTS[slot]) for slot in slots}) if slots else template
    if patrol:
        suffix = pick(rng, _PATROL_SUFFIX_STOPPED if stopped else _PATROL_SUFFIX_OPEN)
        return pick(rng, _PATROL_PREFIX) + text + suffix
    return text


def person_name(rng: random.Random) -> str:
    return pick(rng, _SURNAMES) + pick(rng, _GIVEN)


def phone_number(rng: random.Random) -> str:
    return pick(rng, _PHONE_PREFIXES) + f"{int(rng.random() * 1e8):08d}"


def id_number(rng: random.Random, year: int) -> str:
    """An 18-digit resident identity number with a Wenzhou area code and a valid check digit."""
    birth_year = year - randint(rng, 18, 85)
    body = (f"{pick(rng, _DISTRICT_ID_PREFIXES)}{birth_year:04d}{randint(rng, 1, 12):02d}"
            f"{randint(rng, 1, 28):02d}{rng.randrange(1000):03d}")
    return body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def key_entity(rng: random.Random) -> str:
    """A key supervised entity (重点环境监管对象) name."""
    return pick(rng, _ENTITY_PREFIX) + pick(rng, _ENTITY_WORD) + pick(rng, _ENTITY_KIND)


def _parse(templates: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each template with its distinct slot names, in order, found once at import."""
    parsed = []
    for template in templates:
        slots = tuple(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name))
        unknown = [slot for slot in slots if slot not in _SLOTS]
        if unknown:
            raise ValueError(f"description template {template!r} uses unknown slot(s) {unknown}")
        parsed.append((template, slots))
    return tuple(parsed)


_PARSED = {category: _parse(templates) for category, templates in _TEMPLATES.items()}
_PARSED_GENERIC = _parse(_GENERIC)
