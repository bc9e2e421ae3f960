# Writes OUT (a .cc) defining chakong::kChinaCalendarText with the contents of IN.
file(READ "${IN}" text)
file(WRITE "${OUT}" "// Generated from engine/data/cn_calendar.txt. Do not edit.\n"
     "namespace chakong {\nextern const char kChinaCalendarText[];\n"
     "const char kChinaCalendarText[] = R\"chakong_calendar(${text})chakong_calendar\";\n}\n")
