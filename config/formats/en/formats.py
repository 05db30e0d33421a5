# A factory's dates: day, month as a word, year and a 24-hour clock, never a 5/4 that reads
# as April in one country and May in another. Long and short forms are the same.
DATE_FORMAT = "j M Y"  # 4 Mar 2025
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "j M Y H:i"  # 4 Mar 2025 14:30
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
YEAR_MONTH_FORMAT = "F Y"  # March 2025
MONTH_DAY_FORMAT = "j F"  # 4 March
FIRST_DAY_OF_WEEK = 1  # Monday
