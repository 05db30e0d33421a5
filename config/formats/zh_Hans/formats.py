# 年月日 and a 24-hour clock, as Chinese readers write them. Long and short forms are the same.
DATE_FORMAT = "Y年n月j日"  # 2025年3月4日
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2025年3月4日 14:30
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
YEAR_MONTH_FORMAT = "Y年n月"  # 2025年3月
MONTH_DAY_FORMAT = "n月j日"  # 3月4日
FIRST_DAY_OF_WEEK = 1  # 星期一
