"""The default vocabulary: colours under their families, materials, patterns, seasons, styles,
a category tree, and the synonyms analysers tend to use. Values are stored normalised
(lower case, single spaces), as tagging.vocabulary.normalise leaves them."""

from django.db import migrations
from django.utils.text import slugify

# facet → list of (name, parent name or None, synonyms)
COLOURS = [
    ("red", None, ["scarlet", "crimson", "cherry"]),
    ("burgundy", "red", ["maroon", "wine", "oxblood", "bordeaux"]),
    ("pink", None, ["rose", "blush", "fuchsia", "magenta", "hot pink"]),
    ("orange", None, ["tangerine", "rust", "coral", "burnt orange"]),
    ("yellow", None, ["mustard", "lemon", "gold yellow"]),
    ("gold", "yellow", ["golden", "gold tone"]),
    ("green", None, ["emerald", "lime", "forest green", "kelly green"]),
    ("olive", "green", ["khaki green", "olive green", "army green"]),
    ("mint", "green", ["mint green", "sage", "sage green"]),
    ("teal", "green", ["turquoise", "aqua", "cyan", "petrol"]),
    ("blue", None, ["royal blue", "cobalt", "azure", "sky blue", "light blue"]),
    ("navy", "blue", ["navy blue", "dark blue", "midnight blue"]),
    ("denim", "blue", ["denim blue", "indigo"]),
    ("purple", None, ["violet", "lilac", "lavender", "plum", "mauve"]),
    ("brown", None, ["chocolate", "coffee", "tan", "camel", "cognac", "chestnut"]),
    ("beige", "brown", ["cream", "ivory", "sand", "nude", "off white", "ecru", "khaki", "taupe"]),
    ("black", None, ["jet black", "onyx", "charcoal black"]),
    ("grey", None, ["gray", "charcoal", "slate", "ash", "heather grey", "heather gray"]),
    ("silver", "grey", ["silver tone", "chrome", "metallic silver"]),
    ("white", None, ["snow white", "optic white", "bright white"]),
    ("multicolour", None, ["multicolor", "multi", "multicoloured", "multicolored", "rainbow", "assorted"]),
]
MATERIALS = [
    ("cotton", None, ["organic cotton", "cotton blend", "jersey"]),
    ("linen", None, ["flax"]),
    ("silk", None, ["satin silk", "mulberry silk"]),
    ("wool", None, ["merino", "merino wool", "cashmere", "knit wool"]),
    ("polyester", None, ["poly", "synthetic", "nylon", "microfibre", "microfiber"]),
    ("denim", None, ["jean"]),
    ("leather", None, ["genuine leather", "full grain leather", "suede", "faux leather", "vegan leather"]),
    ("canvas", None, ["cotton canvas", "duck canvas"]),
    ("batik", None, ["batik fabric", "batik cotton", "wax print", "javanese batik"]),
    ("rattan", None, ["cane", "wicker", "rattan weave"]),
    ("bamboo", None, []),
    ("wood", None, ["wooden", "timber", "oak", "walnut", "teak", "pine"]),
    ("ceramic", None, ["porcelain", "stoneware", "earthenware", "pottery"]),
    ("glass", None, ["glassware"]),
    ("metal", None, ["steel", "stainless steel", "aluminium", "aluminum", "iron", "brass", "copper"]),
    ("plastic", None, ["abs", "polypropylene", "acrylic", "pvc"]),
    ("rubber", None, ["silicone", "latex"]),
    ("paper", None, ["cardboard", "kraft paper"]),
    ("stone", None, ["marble", "granite", "slate stone"]),
]
PATTERNS = [
    ("solid", None, ["plain", "solid colour", "solid color", "block colour", "no pattern", "none"]),
    ("striped", None, ["stripe", "stripes", "pinstripe", "breton"]),
    ("polka dot", None, ["dot", "dots", "dotted", "spotted", "polka dots", "spot"]),
    ("checked", None, ["check", "checks", "plaid", "tartan", "gingham", "checkered", "checkerboard"]),
    ("floral", None, ["flower", "flowers", "flowered", "botanical"]),
    ("geometric", None, ["geo", "abstract geometric", "chevron", "zigzag", "herringbone"]),
    ("animal print", None, ["leopard", "leopard print", "zebra", "snake print", "animal"]),
    ("batik print", None, ["batik pattern", "parang", "kawung"]),
    ("graphic", None, ["print", "logo", "graphic print", "text print", "printed"]),
    ("woven", None, ["weave", "basket weave", "braided"]),
    ("camouflage", None, ["camo"]),
    ("paisley", None, []),
]
SEASONS = [
    ("spring", None, []),
    ("summer", None, ["summertime"]),
    ("autumn", None, ["fall"]),
    ("winter", None, ["wintertime"]),
    ("all season", None, ["all seasons", "year round", "all year", "any", "none", "seasonless", "all"]),
]
STYLES = [
    ("casual", None, ["everyday", "relaxed", "laid back"]),
    ("formal", None, ["elegant", "dressy", "evening", "smart"]),
    ("sporty", None, ["athletic", "sport", "sportswear", "activewear"]),
    ("classic", None, ["timeless", "traditional"]),
    ("minimalist", None, ["minimal", "clean", "simple", "modern minimalist", "scandinavian"]),
    ("modern", None, ["contemporary"]),
    ("vintage", None, ["retro", "antique", "classic vintage"]),
    ("bohemian", None, ["boho", "boho chic"]),
    ("streetwear", None, ["street", "urban"]),
    ("rustic", None, ["farmhouse", "country"]),
    ("handcrafted", None, ["handmade", "artisan", "artisanal", "hand made", "craft"]),
    ("ethnic", None, ["cultural", "folk", "tribal"]),
    ("industrial", None, []),
    ("luxury", None, ["premium", "high end"]),
]
# (name, parent, synonyms); parents are listed before their children.
CATEGORIES = [
    ("apparel", None, ["clothing", "clothes", "fashion", "garment", "wear"]),
    ("tops", "apparel", ["top", "shirts and tops"]),
    ("t shirts", "tops", ["t shirt", "tee", "tees", "tshirt", "tshirts"]),
    ("shirts", "tops", ["shirt", "blouse", "blouses", "button down"]),
    ("sweaters", "tops", ["sweater", "jumper", "knitwear", "pullover", "cardigan", "hoodie", "sweatshirt"]),
    ("dresses", "apparel", ["dress", "gown", "sundress"]),
    ("bottoms", "apparel", ["trousers", "pants", "jeans", "shorts", "skirt", "skirts"]),
    ("outerwear", "apparel", ["jacket", "jackets", "coat", "coats", "blazer"]),
    ("traditional wear", "apparel", ["sarong", "kebaya", "sarong kebaya", "kimono", "batik shirt"]),
    ("accessories", "apparel", ["accessory", "scarf", "hat", "cap", "belt", "jewellery", "jewelry"]),
    ("footwear", None, ["shoes", "shoe"]),
    ("sneakers", "footwear", ["sneaker", "trainers", "trainer", "running shoes", "athletic shoes"]),
    ("boots", "footwear", ["boot", "ankle boots"]),
    ("sandals", "footwear", ["sandal", "flip flops", "slides"]),
    ("formal shoes", "footwear", ["loafers", "oxfords", "heels", "pumps", "dress shoes"]),
    ("bags", None, ["bag", "handbags", "luggage"]),
    ("tote bags", "bags", ["tote", "tote bag", "shopper", "shopping bag"]),
    ("backpacks", "bags", ["backpack", "rucksack"]),
    ("handbags", "bags", ["handbag", "purse", "shoulder bag", "clutch", "crossbody bag"]),
    ("wallets", "bags", ["wallet", "card holder"]),
    ("home", None, ["home and living", "homeware", "home decor", "household"]),
    ("kitchen", "home", ["kitchenware", "cookware", "tableware", "dining"]),
    ("mugs", "kitchen", ["mug", "cup", "cups", "coffee mug", "teacup"]),
    ("lighting", "home", ["lamp", "lamps", "table lamp", "light", "lights", "pendant light"]),
    ("textiles", "home", ["home textiles", "cushion", "cushions", "pillow", "throw", "blanket", "rug", "curtains"]),
    ("furniture", "home", ["chair", "table", "stool", "shelf", "sofa"]),
    ("decor", "home", ["decoration", "vase", "wall art", "ornament", "candle holder"]),
    ("electronics", None, ["electronic", "gadgets", "tech"]),
    ("audio", "electronics", ["headphones", "headphone", "earphones", "earbuds", "speaker", "speakers"]),
    ("phones and accessories", "electronics", ["phone", "smartphone", "phone case", "charger", "cable"]),
    ("computers", "electronics", ["laptop", "keyboard", "mouse", "computer accessories"]),
    ("food", None, ["food and drink", "groceries", "grocery", "snacks"]),
    ("pantry", "food", ["preserves", "jam", "jar", "honey", "sauce", "spices", "condiments"]),
    ("beverages", "food", ["drinks", "coffee", "tea", "juice"]),
    ("sweets", "food", ["confectionery", "chocolate bar", "candy", "biscuits", "cookies"]),
    ("handmade crafts", None, ["crafts", "handicraft", "handicrafts", "artisan goods", "handmade"]),
    ("baskets", "handmade crafts", ["basket", "woven basket", "storage basket"]),
    ("pottery", "handmade crafts", ["handmade pottery", "clay pot", "vase handmade"]),
    ("woodcraft", "handmade crafts", ["wood carving", "carved wood", "wooden craft"]),
    ("batik textiles", "handmade crafts", ["batik cloth", "batik craft", "hand drawn batik", "batik tulis"]),
]
VOCABULARY = {
    "colour": COLOURS,
    "material": MATERIALS,
    "pattern": PATTERNS,
    "season": SEASONS,
    "style": STYLES,
    "category": CATEGORIES,
}


def load(apps, schema_editor):
    Tag = apps.get_model("tagging", "Tag")
    TagSynonym = apps.get_model("tagging", "TagSynonym")
    for facet, entries in VOCABULARY.items():
        by_name = {}
        for name, parent, synonyms in entries:
            tag, _ = Tag.objects.get_or_create(
                facet=facet,
                slug=slugify(name),
                defaults={"name": name, "status": "canonical", "parent": by_name.get(parent)},
            )
            by_name[name] = tag
            for text in synonyms:
                TagSynonym.objects.get_or_create(facet=facet, text=text, defaults={"tag": tag})


def unload(apps, schema_editor):
    Tag = apps.get_model("tagging", "Tag")
    for facet, entries in VOCABULARY.items():
        Tag.objects.filter(facet=facet, slug__in=[slugify(name) for name, _, _ in entries]).delete()


class Migration(migrations.Migration):
    dependencies = [("tagging", "0002_analysis_arm")]
    operations = [migrations.RunPython(load, unload)]
